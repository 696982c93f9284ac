# A tenant created outside this configuration, such as by another team's
# workspace, and a read-only policy on it.
data "tempo_tenant" "payments" {
  name = "payments"

  lifecycle {
    postcondition {
      condition     = self.status == "active"
      error_message = "Tenant payments is inactive; re-activate it before granting access to it."
    }
  }
}

resource "tempo_access_policy" "payments_read" {
  name   = "payments-read"
  scopes = ["traces:read"]

  realm {
    tenant  = data.tempo_tenant.payments.name
    cluster = data.tempo_tenant.payments.cluster
  }
}
