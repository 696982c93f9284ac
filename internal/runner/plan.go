package runner

import (
	"fmt"
	"slices"

	tfjson "github.com/hashicorp/terraform-json"
)

// guardedTypes are the resources whose removal needs the values' consent.
var guardedTypes = []string{"tempo_tenant", "tempo_access_policy", "tempo_token"}

// destructiveChanges lists what a plan would deactivate, replace or revoke,
// one line each, leaving out token replacements (rotations), the old half
// of a replacement an earlier run began (deposed), and the addresses the
// values allow.
func destructiveChanges(p *tfjson.Plan, allowed []string) []string {
	var out []string
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || !slices.Contains(guardedTypes, rc.Type) {
			continue
		}
		acts := rc.Change.Actions
		if !acts.Delete() && !acts.Replace() {
			continue
		}
		if rc.DeposedKey != "" {
			continue
		}
		replace := acts.Replace()
		if rc.Type == "tempo_token" && replace {
			continue
		}
		if slices.Contains(allowed, rc.Address) {
			continue
		}
		what := "deactivate"
		switch {
		case rc.Type == "tempo_token":
			what = "revoke"
		case replace:
			what = "replace"
		}
		out = append(out, fmt.Sprintf("  %s (%s)", rc.Address, what))
	}
	return out
}
