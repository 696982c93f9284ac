# What exists on the server, read with the list data sources: the objects
# to adopt, as maps keyed by name. Read-only: a plan of this file alone
# shows them in its outputs and changes nothing.

variable "include_inactive" {
  description = "Adopt inactive (destroyed) tenants and access policies too; they stay inactive. Their names are taken for good either way."
  type        = bool
  default     = false
}

variable "leave_out" {
  description = "Names of tenants, access policies and tokens not to adopt, such as the tokens the runner of this configuration authenticates with."
  type        = set(string)
  default     = []
}

data "tempo_tenants" "existing" {
  include_inactive = var.include_inactive
}

data "tempo_access_policies" "existing" {
  include_inactive = var.include_inactive
}

# Revoked tokens are left out: they never work again, so there is nothing
# to manage.
data "tempo_tokens" "existing" {}

locals {
  # The data sources report an object without a display name under its
  # name; the resources leave such a display name out. Only active and
  # inactive can be declared: any other status the API reports shows in
  # the plan as a change to active.
  tenants = {
    for t in data.tempo_tenants.existing.tenants : t.name => {
      display_name = t.display_name != t.name ? t.display_name : null
      cluster      = t.cluster
      status       = t.status == "inactive" ? "inactive" : "active"
    }
    # Built-in tenants such as __system__ are the server's own.
    if !startswith(t.name, "__") && !contains(var.leave_out, t.name)
  }

  access_policies = {
    for p in data.tempo_access_policies.existing.access_policies : p.name => {
      display_name = p.display_name != p.name ? p.display_name : null
      status       = p.status == "inactive" ? "inactive" : "active"
      scopes       = p.scopes
      realms = [
        for r in p.realms : {
          tenant         = r.tenant
          cluster        = r.cluster
          label_policies = [for lp in r.label_policies : lp.selector]
        }
      ]
    }
    if !startswith(p.name, "__") && !contains(var.leave_out, p.name)
  }

  tokens = {
    for t in data.tempo_tokens.existing.tokens : t.name => {
      display_name  = t.display_name != t.name ? t.display_name : null
      access_policy = t.access_policy
      expiration    = t.expiration
    }
    # An expired token no longer works and cannot be imported.
    if !startswith(t.name, "__") && !contains(var.leave_out, t.name) && timecmp(coalesce(t.expiration, "9999-12-31T23:59:59Z"), plantimestamp()) > 0
  }
}

# The same maps as JSON variables: `terraform output -json adopted` writes
# the tfvars file of declared/declared.tf once the import is applied.
output "adopted" {
  value = {
    tenants         = local.tenants
    access_policies = local.access_policies
    tokens          = local.tokens
  }
}

# One import block per object, for `plan -generate-config-out` where
# import blocks cannot use for_each (Terraform before 1.7). Resource names
# are the object names, with a leading _ where a name cannot start one.
output "import_blocks" {
  value = join("", [
    for o in concat(
      [for n in keys(local.tenants) : { type = "tempo_tenant", name = n }],
      [for n in keys(local.access_policies) : { type = "tempo_access_policy", name = n }],
      [for n in keys(local.tokens) : { type = "tempo_token", name = n }],
    ) :
    "import {\n  to = ${o.type}.${can(regex("^[a-z_]", o.name)) ? "" : "_"}${o.name}\n  id = \"${o.name}\"\n}\n\n"
  ])
}
