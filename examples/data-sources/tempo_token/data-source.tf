# The metadata of a token created elsewhere. Its secret is not readable: the
# admin API shows it only once, when the token is created.
data "tempo_token" "ci" {
  name = "ci-trace-writer"

  lifecycle {
    postcondition {
      condition = self.status == "active" && timecmp(
        coalesce(self.expiration, "9999-12-31T00:00:00Z"),
        timeadd(plantimestamp(), "720h"),
      ) > 0
      error_message = "Token ci-trace-writer is revoked or expires within 30 days; issue a new one."
    }
  }
}

output "ci_token_policy" {
  value = data.tempo_token.ci.access_policy
}
