# Every token that is not revoked, with its policy and expiration. Secrets
# are never listed: the admin API shows one only when the token is created.
data "tempo_tokens" "all" {}

# Who holds credentials of which access policy.
output "tokens_by_policy" {
  value = {
    for t in data.tempo_tokens.all.tokens : t.access_policy => t.name...
  }
}

# Tokens that expire within 30 days, or have expired (an expired token keeps
# status "active"): time to issue replacements.
output "expiring_soon" {
  value = [
    for t in data.tempo_tokens.all.tokens : t.name
    if timecmp(coalesce(t.expiration, "9999-12-31T23:59:59Z"), timeadd(plantimestamp(), "720h")) < 0
  ]
}
