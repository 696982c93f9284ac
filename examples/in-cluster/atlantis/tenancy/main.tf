# The tenancy of the GET cluster, planned and applied by Atlantis
# (../atlantis.yaml, ../repos.yaml): two teams, each with a tenant, a write
# policy for its OpenTelemetry collectors, a read policy for its Grafana and
# a token for each; and the access policies of Atlantis' own two
# credentials.
#
# Bootstrapping. The two credentials the workflow runs with are tokens of
# the policies tenancy-plan and tenancy-apply below, so they cannot exist
# before this configuration has been applied once:
#
#   1. Put the bootstrap admin token (made by GET's tokengen) into both
#      Secrets mounted in the Atlantis pod, tempo-tenancy-plan and
#      tempo-tenancy-apply, and apply the first pull request with it.
#   2. Create one token for tenancy-plan and one for tenancy-apply, and
#      write each straight into its Secret. Kubernetes refreshes the mounted
#      files; from then on plans run with admin:read and applies with
#      admin:write, and the bootstrap token is no longer in the pod.
#
# Those two tokens are deliberately not managed here: a token in this
# configuration would have its secret in the state, and a pull request that
# replaced it would revoke the credential the workflow is running with.
#
# The provider takes its URL, cluster and credential from the workflow's
# environment (TEMPO_ADMIN_URL, TEMPO_CLUSTER, TEMPO_ADMIN_TOKEN_FILE).
# Setting url, token or token_file here would override the workflow: plan
# and apply would use the same credential.

provider "tempo" {
  # The network boundary: the credential is only ever sent to in-cluster
  # addresses.
  allowed_endpoints = [".svc", ".cluster.local"]
}

locals {
  # Tenant name => display name.
  teams = {
    payments = "Payments"
    checkout = "Checkout"
  }
}

resource "tempo_tenant" "team" {
  for_each     = local.teams
  name         = each.key
  display_name = each.value
}

resource "tempo_access_policy" "write" {
  for_each     = tempo_tenant.team
  name         = "${each.key}-write"
  display_name = "${each.value.display_name}: trace writers"
  scopes       = ["traces:write"]

  realm {
    tenant = each.value.name
  }
}

resource "tempo_access_policy" "read" {
  for_each     = tempo_tenant.team
  name         = "${each.key}-read"
  display_name = "${each.value.display_name}: trace readers"
  scopes       = ["traces:read"]

  realm {
    tenant = each.value.name
  }
}

# name_prefix: a replacement (new policy, new expiration) gets a new,
# unique name, since token names are never free again.
resource "tempo_token" "collector" {
  for_each      = tempo_access_policy.write
  name_prefix   = "${each.key}-collector"
  display_name  = "OpenTelemetry collector of ${local.teams[each.key]}"
  access_policy = each.value.name

  lifecycle {
    # A replacement (a new name_prefix, a changed policy) creates the new
    # token before the old one is revoked, so its consumer can switch.
    create_before_destroy = true
  }
}

resource "tempo_token" "grafana" {
  for_each      = tempo_access_policy.read
  name_prefix   = "${each.key}-grafana"
  display_name  = "Grafana data source of ${local.teams[each.key]}"
  access_policy = each.value.name

  lifecycle {
    create_before_destroy = true
  }
}

# Atlantis' read-only credential: plans. admin:read lets a token make GET
# requests to the admin API and nothing else.
resource "tempo_access_policy" "tenancy_plan" {
  name         = "tenancy-plan"
  display_name = "Atlantis: tenancy plans (read-only)"
  scopes       = ["admin:read"]

  realm {
    tenant = "*"
  }

  # Deactivating it would stop every plan. prevent_destroy refuses a change
  # that replaces it (a new name); deleting this block is not refused, so
  # reviewers watch for that.
  lifecycle {
    prevent_destroy = true
  }
}

# Atlantis' write credential: `atlantis apply` only.
resource "tempo_access_policy" "tenancy_apply" {
  name         = "tenancy-apply"
  display_name = "Atlantis: tenancy applies"
  scopes       = ["admin:write"]

  realm {
    tenant = "*"
  }

  # Deactivating it would revoke the credential of the very apply doing it.
  # As above, prevent_destroy refuses a replacement, not a deleted block.
  lifecycle {
    prevent_destroy = true
  }
}

output "token_names" {
  description = "Names of the teams' tokens, by team and use."
  value = {
    for team in keys(local.teams) : team => {
      collector = tempo_token.collector[team].name
      grafana   = tempo_token.grafana[team].name
    }
  }
}

# The teams' token secrets, for whoever hands them on to the collectors and
# Grafana. Sensitive: plans in pull requests show "(sensitive value)".
output "team_tokens" {
  description = "Token secrets by team and use."
  sensitive   = true
  value = {
    for team in keys(local.teams) : team => {
      collector = tempo_token.collector[team].token
      grafana   = tempo_token.grafana[team].token
    }
  }
}
