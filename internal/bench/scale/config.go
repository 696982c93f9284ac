package main

import (
	"fmt"
	"strings"
)

// configFor writes the configuration of a scenario for a provider, at
// version 1 (created) or 2 (one attribute of every object changed), as file
// contents by path relative to the working directory.
//
// tenants: n tempo_tenant (count). mixed: n/3 instances of a module "team"
// (count), each a tempo_tenant, a tempo_access_policy with a realm on that
// tenant, and a tempo_token of that policy (name_prefix). The change is the
// display name of every object; tokens are immutable, so theirs is a
// replacement. terraform_data mirrors each shape: the same counts and
// references, the display name as input, and triggers_replace where a token
// would be replaced.
//
// The mixed objects refer to each other inside a module instance rather
// than across counted resources (tempo_tenant.t[count.index]): the CLIs
// evaluate such a reference by building the value of every instance of the
// resource referred to, so that configuration costs them time quadratic in
// n whatever the provider (at n = 3000 under OpenTofu, about 380 s to create
// with this provider and with the no-I/O one alike), which would bury the
// provider's own cost that this harness measures.
func configFor(scenario, prov string, n, version int, url string) map[string]string {
	count := n
	if scenario == "mixed" {
		count = n / 3
	}
	var root strings.Builder
	if prov != provData {
		fmt.Fprintf(&root, `terraform {
  required_providers {
    tempo = { source = "tempo-tenancy/tempo" }
  }
}

provider "tempo" {
  url = %q
}
`, url)
	}
	if scenario != "mixed" {
		if prov == provData {
			fmt.Fprintf(&root, `resource "terraform_data" "t" {
  count = %d
  input = "Tenant ${count.index} v%d"
}
`, count, version)
		} else {
			fmt.Fprintf(&root, `
resource "tempo_tenant" "t" {
  count        = %d
  name         = format("t-%%05d", count.index)
  display_name = "Tenant ${count.index} v%d"
}
`, count, version)
		}
		return map[string]string{"main.tf": root.String()}
	}
	fmt.Fprintf(&root, `
module "team" {
  source  = "./team"
  count   = %d
  index   = count.index
  rev     = "v%d"
}
`, count, version)
	team := `variable "index" {
  type = number
}

variable "rev" {
  type = string
}
`
	if prov == provData {
		team += `
resource "terraform_data" "t" {
  input = "Tenant ${var.index} ${var.rev}"
}

resource "terraform_data" "p" {
  input = {
    tenant       = terraform_data.t.id
    display_name = "Policy ${var.index} ${var.rev}"
  }
}

resource "terraform_data" "k" {
  input            = terraform_data.p.id
  triggers_replace = "Token ${var.index} ${var.rev}"
}
`
	} else {
		team += `
terraform {
  required_providers {
    tempo = { source = "tempo-tenancy/tempo" }
  }
}

resource "tempo_tenant" "t" {
  name         = format("t-%05d", var.index)
  display_name = "Tenant ${var.index} ${var.rev}"
}

resource "tempo_access_policy" "p" {
  name         = format("p-%05d", var.index)
  display_name = "Policy ${var.index} ${var.rev}"
  scopes       = ["traces:read", "traces:write"]
  realm {
    tenant = tempo_tenant.t.name
  }
}

resource "tempo_token" "k" {
  name_prefix   = format("k-%05d", var.index)
  display_name  = "Token ${var.index} ${var.rev}"
  access_policy = tempo_access_policy.p.name
}
`
	}
	return map[string]string{"main.tf": root.String(), "team/main.tf": team}
}
