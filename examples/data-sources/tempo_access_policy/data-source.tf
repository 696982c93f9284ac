# An access policy managed elsewhere, checked before tokens are issued for it.
data "tempo_access_policy" "otel_writers" {
  name = "otel-writers"

  lifecycle {
    postcondition {
      condition     = self.status == "active" && contains(self.scopes, "traces:write")
      error_message = "Access policy otel-writers must be active and grant traces:write."
    }
  }
}

resource "tempo_token" "collector" {
  name_prefix   = "otel-collector"
  access_policy = data.tempo_access_policy.otel_writers.name
}

# Where the collector's token may write, as cluster/tenant.
output "collector_realms" {
  value = [for r in data.tempo_access_policy.otel_writers.realms : "${r.cluster}/${r.tenant}"]
}
