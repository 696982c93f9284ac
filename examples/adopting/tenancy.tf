# The tenancy, one resource per object, keyed by name. The maps come from
# inventory.tf while adopting, and from declared/declared.tf afterwards.

resource "tempo_tenant" "this" {
  for_each     = local.tenants
  name         = each.key
  display_name = each.value.display_name
  cluster      = each.value.cluster
  status       = each.value.status
}

resource "tempo_access_policy" "this" {
  for_each     = local.access_policies
  name         = each.key
  display_name = each.value.display_name
  status       = each.value.status
  scopes       = each.value.scopes

  dynamic "realm" {
    for_each = each.value.realms
    content {
      tenant  = realm.value.tenant
      cluster = realm.value.cluster

      dynamic "label_policy" {
        for_each = realm.value.label_policies
        content {
          selector = label_policy.value
        }
      }
    }
  }

  # A realm may name a tenant managed here: tenants come first.
  depends_on = [tempo_tenant.this]
}

resource "tempo_token" "this" {
  for_each     = local.tokens
  name         = each.key
  display_name = each.value.display_name
  # A policy managed here is referenced, so that it exists first.
  access_policy = try(tempo_access_policy.this[each.value.access_policy].name, each.value.access_policy)
  expiration    = each.value.expiration
}
