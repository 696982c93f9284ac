package main

import (
	"fmt"
	"strings"
)

// configFor writes the configuration of a scenario for a provider, at
// version 1 (created) or 2 (one attribute of every object changed).
//
// tenants: n tempo_tenant. mixed: n/3 each of tempo_tenant,
// tempo_access_policy (a realm on its tenant) and tempo_token (of its
// policy, with name_prefix). The change is the display name of every object;
// tokens are immutable, so theirs is a replacement. terraform_data mirrors
// each shape: the same counts and references, the display name as input,
// and triggers_replace where a token would be replaced.
func configFor(scenario, prov string, n, version int, url string) string {
	var sb strings.Builder
	if prov == provData {
		dataConfig(&sb, scenario, n, version)
		return sb.String()
	}
	fmt.Fprintf(&sb, `terraform {
  required_providers {
    tempo = { source = "tempo-tenancy/tempo" }
  }
}

provider "tempo" {
  url = %q
}
`, url)
	count := n
	if scenario == "mixed" {
		count = n / 3
	}
	fmt.Fprintf(&sb, `
resource "tempo_tenant" "t" {
  count        = %d
  name         = format("t-%%05d", count.index)
  display_name = "Tenant ${count.index} v%d"
}
`, count, version)
	if scenario != "mixed" {
		return sb.String()
	}
	fmt.Fprintf(&sb, `
resource "tempo_access_policy" "p" {
  count        = %d
  name         = format("p-%%05d", count.index)
  display_name = "Policy ${count.index} v%d"
  scopes       = ["traces:read", "traces:write"]
  realm {
    tenant = tempo_tenant.t[count.index].name
  }
}

resource "tempo_token" "k" {
  count         = %d
  name_prefix   = format("k-%%05d", count.index)
  display_name  = "Token ${count.index} v%d"
  access_policy = tempo_access_policy.p[count.index].name
}
`, count, version, count, version)
	return sb.String()
}

func dataConfig(sb *strings.Builder, scenario string, n, version int) {
	count := n
	if scenario == "mixed" {
		count = n / 3
	}
	fmt.Fprintf(sb, `resource "terraform_data" "t" {
  count = %d
  input = "Tenant ${count.index} v%d"
}
`, count, version)
	if scenario != "mixed" {
		return
	}
	fmt.Fprintf(sb, `
resource "terraform_data" "p" {
  count = %d
  input = {
    tenant       = terraform_data.t[count.index].id
    display_name = "Policy ${count.index} v%d"
  }
}

resource "terraform_data" "k" {
  count            = %d
  input            = terraform_data.p[count.index].id
  triggers_replace = "Token ${count.index} v%d"
}
`, count, version, count, version)
}
