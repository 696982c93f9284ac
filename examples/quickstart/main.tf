# Day one of a platform team: two teams, each with its own tenant, a write
# policy for its OpenTelemetry collectors, a read policy for its Grafana,
# and a token for each.
#
# The provider reads TEMPO_ADMIN_URL and TEMPO_ADMIN_TOKEN (or
# TEMPO_ADMIN_TOKEN_FILE) from the environment; `make demo` sets them for
# the emulator.

terraform {
  required_providers {
    tempo = {
      source = "tempo-tenancy/tempo"
    }
  }
}

provider "tempo" {}

variable "teams" {
  description = "Tenant name => display name."
  type        = map(string)
  default = {
    "team-a" = "Team A"
    "team-b" = "Team B"
  }
}

resource "tempo_tenant" "team" {
  for_each     = var.teams
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

resource "tempo_token" "collector" {
  for_each      = tempo_access_policy.write
  name_prefix   = "${each.key}-collector"
  display_name  = "OpenTelemetry collector of ${var.teams[each.key]}"
  access_policy = each.value.name
}

resource "tempo_token" "grafana" {
  for_each      = tempo_access_policy.read
  name_prefix   = "${each.key}-grafana"
  display_name  = "Grafana data source of ${var.teams[each.key]}"
  access_policy = each.value.name
}

output "token_names" {
  description = "Names of the tokens, by team and use."
  value = {
    for team in keys(var.teams) : team => {
      collector = tempo_token.collector[team].name
      grafana   = tempo_token.grafana[team].name
    }
  }
}

output "collector_tokens" {
  description = "Collector token secrets by team, for the collectors' Basic auth (user: tenant, password: secret)."
  value       = { for team, t in tempo_token.collector : team => t.token }
  sensitive   = true
}
