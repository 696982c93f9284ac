resource "tempo_access_policy" "payments_write" {
  name   = "payments-write"
  scopes = ["traces:write"]

  realm {
    tenant = "payments"
  }
}

# name_prefix gets a unique suffix, so replacing the token (a new policy,
# a new expiration) never collides with the name of the revoked one.
resource "tempo_token" "payments_collector" {
  name_prefix   = "payments-collector"
  display_name  = "OpenTelemetry collector of the payments team"
  access_policy = tempo_access_policy.payments_write.name
  expiration    = "2030-01-01T00:00:00Z"
}

# The secret is sensitive: hand it to what needs it (a Kubernetes Secret,
# a vault) rather than printing it.
output "payments_collector_token_name" {
  value = tempo_token.payments_collector.name
}
