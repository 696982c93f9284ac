package runner

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
)

// dueRotation is a token a plan replaces only because its rotation window
// is open.
type dueRotation struct {
	Address   string
	Name      string
	ExpiresAt time.Time
	Window    time.Duration
}

// rotationsIn lists the tokens a plan replaces for their rotation alone
// (ready_for_rotation is the one path that forces the replacement): a
// change of the values that replaces a token is never held.
func rotationsIn(p *tfjson.Plan) []dueRotation {
	var due []dueRotation
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Type != "tempo_token" || rc.Mode != tfjson.ManagedResourceMode || rc.DeposedKey != "" ||
			!rc.Change.Actions.Replace() || !onlyRotation(rc.Change.ReplacePaths) {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		name, _ := before["name"].(string)
		expires, _ := before["expires_at"].(string)
		window, _ := before["early_rotation_window"].(string)
		exp, err := time.Parse(time.RFC3339, expires)
		if name == "" || err != nil {
			continue
		}
		w, _ := time.ParseDuration(window)
		due = append(due, dueRotation{Address: rc.Address, Name: name, ExpiresAt: exp, Window: w})
	}
	return due
}

func onlyRotation(paths []any) bool {
	if len(paths) != 1 {
		return false
	}
	p, ok := paths[0].([]any)
	return ok && len(p) == 1 && p[0] == "ready_for_rotation"
}

// toHold picks, of the due rotations, those a run bounded to max
// rotations leaves for a later run: the ones that expire last. A token in
// the second half of its window (or expired) is never held, so the bound
// delays a rotation but never lets a token expire while runs go on.
func toHold(due []dueRotation, max int, now time.Time) []dueRotation {
	if max <= 0 || len(due) <= max {
		return nil
	}
	sorted := slices.Clone(due)
	slices.SortFunc(sorted, func(a, b dueRotation) int {
		return cmp.Or(a.ExpiresAt.Compare(b.ExpiresAt), cmp.Compare(a.Address, b.Address))
	})
	var hold []dueRotation
	for _, d := range sorted[max:] {
		if now.Before(d.ExpiresAt.Add(-d.Window / 2)) {
			hold = append(hold, d)
		}
	}
	return hold
}

// planTime is the plan's own timestamp, the "now" its rotations were
// decided at; the fallback is the runner's clock.
func planTime(p *tfjson.Plan, fallback time.Time) time.Time {
	if t, err := time.Parse(time.RFC3339, p.Timestamp); err == nil {
		return t
	}
	return fallback
}

// writeHold writes the variables file that passes the held tokens' names
// to the provider's rotation_hold.
func writeHold(dir string, hold []dueRotation) (string, error) {
	names := make([]string, len(hold))
	for i, h := range hold {
		names[i] = h.Name
	}
	b, err := json.Marshal(map[string][]string{"rotation_hold": names})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "rotation-hold.tfvars.json")
	return path, os.WriteFile(path, b, 0o600)
}

// withoutHeld drops from the handoffs the tokens whose rotation is held:
// they stay in the state, as they are.
func withoutHeld(hs []pendingRevocation, hold []dueRotation) []pendingRevocation {
	held := map[string]bool{}
	for _, h := range hold {
		held[h.Address] = true
	}
	return slices.DeleteFunc(slices.Clone(hs), func(h pendingRevocation) bool { return held[h.Address] })
}

// holds tells whether a plan has a rotation that hold keeps back.
func holds(p *tfjson.Plan, hold []dueRotation) bool {
	if p == nil {
		return false
	}
	for _, d := range rotationsIn(p) {
		for _, h := range hold {
			if h.Address == d.Address {
				return true
			}
		}
	}
	return false
}
