# Collectors of the payments team may write its traces.
resource "tempo_access_policy" "payments_write" {
  name         = "payments-write"
  display_name = "Payments: trace writers"
  scopes       = ["traces:write"]

  realm {
    tenant = "payments"
  }
}

# Grafana may read the traces of every tenant of the cluster.
resource "tempo_access_policy" "grafana_read" {
  name   = "grafana-read"
  scopes = ["traces:read"]

  realm {
    tenant = "*"
  }
}

# A read-only credential for `terraform plan` in pull requests.
resource "tempo_access_policy" "tenancy_plan" {
  name   = "tenancy-plan"
  scopes = ["admin:read"]

  realm {
    tenant = "*"
  }
}
