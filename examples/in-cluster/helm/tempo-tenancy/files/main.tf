# The tenancy module the runner Job applies. It is generic: everything
# specific to an install comes from terraform.tfvars.json, rendered from the
# chart's values, and the state backend from backend.tf.json.
#
# The provider reads TEMPO_ADMIN_URL, TEMPO_ADMIN_TOKEN_FILE and
# TEMPO_CLUSTER from the Job's environment.

terraform {
  required_version = ">= 1.7.0"
  required_providers {
    tempo = {
      source = "tempo-tenancy/tempo"
    }
  }
}

variable "ca_cert_file" {
  description = "CA bundle of the admin API's certificate, when it serves TLS."
  type        = string
  default     = null
}

variable "allowed_endpoints" {
  description = "Where the admin token may be sent (host suffixes and CIDRs)."
  type        = list(string)
  default     = null
}

variable "tenants" {
  type = map(object({
    display_name = optional(string)
    status       = optional(string, "active")
  }))
  default = {}
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
  default = {}
}

# The runner sets this to its own executable (TF_VAR_runner_command); the
# chart's variables file never does.
variable "runner_command" {
  type     = string
  default  = "tempo-tenancy-runner"
  nullable = false
}

variable "tokens" {
  type = map(object({
    name          = optional(string)
    name_prefix   = optional(string)
    display_name  = optional(string)
    access_policy = string
    expiration    = optional(string)
    expire_after  = optional(string)
    # A run within this window before expiry rotates the token.
    early_rotation_window = optional(string)
    # Shortens each token's lifetime by a random part of this, so that
    # tokens created together do not rotate together.
    expire_after_jitter = optional(string)
    rotation              = optional(string, "")
    secret = object({
      namespace = string
      name      = string
      key       = string
    })
  }))
  default = {}
}

# Existing objects to import instead of creating: tenants and access
# policies by name, tokens by the key of var.tokens to the existing token's
# name. An import into an address the state already holds is a no-op, so an
# entry may stay after its object was adopted. With runner.adoptExisting the
# runner adds, in a variables file of its own, every declared object the
# admin API already has.
variable "adopt" {
  type = object({
    tenants         = optional(set(string), [])
    access_policies = optional(set(string), [])
    tokens          = optional(map(string), {})
  })
  default  = {}
  nullable = false
}

import {
  for_each = var.adopt.tenants
  to       = tempo_tenant.this[each.key]
  id       = each.key
}

import {
  for_each = var.adopt.access_policies
  to       = tempo_access_policy.this[each.key]
  id       = each.key
}

import {
  for_each = var.adopt.tokens
  to       = tempo_token.this[each.key]
  id       = each.value
}

# The runner sets this, in a variables file of its own, to the tokens whose
# due rotation waits for a later run (runner.maxRotationsPerRun).
variable "rotation_hold" {
  type     = list(string)
  default  = []
  nullable = false
}

provider "tempo" {
  ca_cert_file      = var.ca_cert_file
  allowed_endpoints = var.allowed_endpoints
  rotation_hold     = var.rotation_hold
}

resource "tempo_tenant" "this" {
  for_each     = var.tenants
  name         = each.key
  display_name = each.value.display_name
  status       = each.value.status
}

resource "tempo_access_policy" "this" {
  for_each     = var.access_policies
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

  # A realm may name a tenant made here; create tenants first.
  depends_on = [tempo_tenant.this]
}

resource "tempo_token" "this" {
  for_each     = var.tokens
  name         = each.value.name
  name_prefix  = each.value.name_prefix
  display_name = each.value.display_name
  # A policy managed here is referenced, so that it exists first; any other
  # name is taken as a policy that exists on the server already.
  access_policy = try(tempo_access_policy.this[each.value.access_policy].name, each.value.access_policy)
  expiration    = each.value.expiration

  expire_after          = each.value.expire_after
  early_rotation_window = each.value.early_rotation_window
  expire_after_jitter   = each.value.expire_after_jitter

  # Changing a token's rotation value replaces the token: a new secret,
  # under a new name when name_prefix is used.
  keepers = {
    rotation = each.value.rotation
  }

  lifecycle {
    # A rotation creates the new token first. Its secret reaches the
    # Secret its consumers read (below) before the old token is revoked.
    create_before_destroy = true
  }

  # On a rotation the runner writes the new secret into the existing
  # Secret at once; it took the old token out of the state before the
  # apply, and revokes it once consumers have had the overlap to pick the
  # new one up. The runner is started directly, without a shell (its image
  # has none), with the token's name as the command; the secret travels in
  # the environment, and the output of a provisioner given a sensitive
  # value is never shown.
  provisioner "local-exec" {
    interpreter = [var.runner_command, "write-secret"]
    command     = self.name
    environment = {
      TENANCY_TOKEN_NAMESPACE   = var.tokens[each.key].secret.namespace
      TENANCY_TOKEN_SECRET_NAME = var.tokens[each.key].secret.name
      TENANCY_TOKEN_KEY         = var.tokens[each.key].secret.key
      TENANCY_TOKEN_SECRET      = self.token
    }
  }
}

# Read by the runner, which writes each secret into its
# Kubernetes Secret. Sensitive: the CLI never prints it.
output "token_secrets" {
  sensitive = true
  value = {
    for k, t in tempo_token.this : k => {
      namespace  = var.tokens[k].secret.namespace
      name       = var.tokens[k].secret.name
      key        = var.tokens[k].secret.key
      token_name = t.name
      token      = t.token
    }
  }
}
