# Imports every object of inventory.tf in one plan. Import blocks with
# for_each need Terraform 1.7 or OpenTofu 1.7 or later. Once the import is
# applied, this file has done its work.

import {
  for_each = local.tenants
  to       = tempo_tenant.this[each.key]
  id       = each.key
}

import {
  for_each = local.access_policies
  to       = tempo_access_policy.this[each.key]
  id       = each.key
}

import {
  for_each = local.tokens
  to       = tempo_token.this[each.key]
  id       = each.key
}
