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
  # Secret named tfstate-default-observability-tenancy in a namespace of its
  # own, tenancy-state, where nothing else runs and only the Atlantis
  # service account may read it; locked through a Lease named
  # lock-tfstate-default-observability-tenancy, reached with the Atlantis
  # pod's service account.
  backend "kubernetes" {
    secret_suffix     = "observability-tenancy"
    namespace         = "tenancy-state"
    in_cluster_config = true
  }

  # Encrypted: the key and method come from the workflow (TF_ENCRYPTION,
  # from a Secret mounted in the Atlantis pod), never from this repository.
  # Without them OpenTofu refuses to read or write the state, or a plan.
  encryption {
    state {
      enforced = true
    }
    plan {
      enforced = true
    }
  }
}
