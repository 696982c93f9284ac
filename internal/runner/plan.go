package runner

import (
	"fmt"
	"slices"

	tfjson "github.com/hashicorp/terraform-json"
)

// guardedTypes are the resources whose removal needs the values' consent.
var guardedTypes = []string{"tempo_tenant", "tempo_access_policy", "tempo_token"}

// planRemoval is a change of a plan that deactivates, replaces or revokes.
type planRemoval struct {
	Address string
	What    string // deactivate, replace or revoke
}

func (r planRemoval) String() string { return fmt.Sprintf("  %s (%s)", r.Address, r.What) }

// removalsIn lists what a plan would deactivate, replace or revoke, leaving
// out token replacements (rotations) and the old half of a replacement an
// earlier run began (deposed).
func removalsIn(p *tfjson.Plan) []planRemoval {
	var out []planRemoval
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
		what := "deactivate"
		switch {
		case rc.Type == "tempo_token":
			what = "revoke"
		case replace:
			what = "replace"
		}
		out = append(out, planRemoval{Address: rc.Address, What: what})
	}
	return out
}

// consentCheck sorts a plan's removals: those the values do not allow,
// those allowed by a consent an earlier run already used (an older
// revision's values, brought back by a rollback or a sync to it), and those
// allowed now.
func consentCheck(removals []planRemoval, c Config, rec record) (notAllowed, usedBefore []string, consented []planRemoval) {
	for _, r := range removals {
		if !c.AllowDestroy && !slices.Contains(c.AllowedRemovals, r.Address) {
			notAllowed = append(notAllowed, r.String())
			continue
		}
		if u, ok := rec.used(r.Address, c.ConsentID); ok {
			usedBefore = append(usedBefore, fmt.Sprintf("%s: consent %q used at %s", r, u.Consent, u.At))
			continue
		}
		consented = append(consented, r)
	}
	return notAllowed, usedBefore, consented
}

// removalsOutside lists the removals of a plan that are not among those
// already checked.
func removalsOutside(removals, checked []planRemoval) []string {
	var out []string
	for _, r := range removals {
		if !slices.ContainsFunc(checked, func(c planRemoval) bool { return c.Address == r.Address }) {
			out = append(out, r.String())
		}
	}
	return out
}
