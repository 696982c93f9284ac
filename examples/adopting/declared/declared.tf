# After the import: the tenancy as declared values, in place of
# inventory.tf and import.tf. The values start as what was adopted:
#
#   terraform output -json adopted > tenancy.auto.tfvars.json
#
# From then on the file is the tenancy: add, change or remove entries in
# pull requests, and the plan shows what that does on the server.

variable "tenants" {
  type = map(object({
    display_name = optional(string)
    cluster      = optional(string)
    status       = optional(string, "active")
  }))
}

variable "access_policies" {
  type = map(object({
    display_name = optional(string)
    status       = optional(string, "active")
    scopes       = set(string)
    realms = list(object({
      tenant         = string
      cluster        = optional(string)
      label_policies = optional(list(string), [])
    }))
  }))
}

variable "tokens" {
  type = map(object({
    display_name  = optional(string)
    access_policy = string
    expiration    = optional(string)
  }))
}

locals {
  tenants         = var.tenants
  access_policies = var.access_policies
  tokens          = var.tokens
}
