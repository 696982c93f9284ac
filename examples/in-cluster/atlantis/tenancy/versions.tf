terraform {
  # Atlantis runs OpenTofu 1.12.6 (terraform_version in atlantis.yaml).
  required_version = ">= 1.6.0"

  required_providers {
    tempo = {
      # Installed from the filesystem mirror baked into the Atlantis image;
      # the pod never asks a registry.
      source = "tempo-tenancy/tempo"
    }
  }

  # The state, and the token secrets in it, stay inside the cluster: a
  # Secret named tfstate-default-observability-tenancy in the atlantis
  # namespace, locked through a Lease named
  # lock-tfstate-default-observability-tenancy, reached with the Atlantis
  # pod's service account.
  backend "kubernetes" {
    secret_suffix     = "observability-tenancy"
    namespace         = "atlantis"
    in_cluster_config = true
  }
}
