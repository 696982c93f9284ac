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

# A token that rotates itself: it lives 30 days, and the first plan in its
# last 7 days replaces it. The new token exists before the old one goes,
# and the old one keeps working until it expires, so consumers have a week
# to pick up the new secret.
resource "tempo_token" "payments_reader" {
  name_prefix           = "payments-reader"
  access_policy         = tempo_access_policy.payments_write.name
  expire_after          = "720h"
  early_rotation_window = "168h"
  revoke_on_destroy     = false

  lifecycle {
    create_before_destroy = true
  }
}

# A token rotated on demand: change the value of a keeper (here from a
# variable) and the next apply replaces the token, new one first.
variable "grafana_rotation" {
  type    = string
  default = "1"
}

resource "tempo_token" "grafana" {
  name_prefix   = "grafana"
  access_policy = tempo_access_policy.payments_write.name
  keepers = {
    rotation = var.grafana_rotation
  }

  lifecycle {
    create_before_destroy = true
  }
}

# The secret is sensitive: hand it to what needs it (a Kubernetes Secret,
# a vault) rather than printing it.
output "payments_collector_token_name" {
  value = tempo_token.payments_collector.name
}
