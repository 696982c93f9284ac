# Every active tenant of one cluster.
data "tempo_tenants" "prod" {
  cluster = "tempo-prod"
}

# Read access for auditors to each of them by name. Unlike tenant = "*",
# this does not cover tenants created later until the next apply.
resource "tempo_access_policy" "auditors" {
  name   = "auditors"
  scopes = ["traces:read"]

  dynamic "realm" {
    # Leave out built-in tenants such as __system__.
    for_each = toset([for name in data.tempo_tenants.prod.names : name if !startswith(name, "__")])
    content {
      tenant  = realm.value
      cluster = "tempo-prod"
    }
  }
}

# Inactive tenants too: their names stay taken for good.
data "tempo_tenants" "all" {
  include_inactive = true
}

output "inactive_tenants" {
  value = [for t in data.tempo_tenants.all.tenants : t.name if t.status == "inactive"]
}
