package runner

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
)

func TestRotationsIn(t *testing.T) {
	rc := func(key string, paths []any, acts ...tfjson.Action) *tfjson.ResourceChange {
		return &tfjson.ResourceChange{
			Address: `tempo_token.this["` + key + `"]`, Type: "tempo_token", Mode: tfjson.ManagedResourceMode, Index: key,
			Change: &tfjson.Change{Actions: acts, ReplacePaths: paths, Before: map[string]any{
				"name": key + "-abc", "expires_at": "2026-12-10T00:00:00Z", "early_rotation_window": "168h",
			}},
		}
	}
	rotation := []any{[]any{"ready_for_rotation"}}
	plan := &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{
		rc("due", rotation, tfjson.ActionCreate, tfjson.ActionDelete),
		rc("due-destroy-first", rotation, tfjson.ActionDelete, tfjson.ActionCreate),
		rc("keepers", []any{[]any{"keepers"}}, tfjson.ActionCreate, tfjson.ActionDelete),
		rc("keepers-and-due", []any{[]any{"ready_for_rotation"}, []any{"keepers"}}, tfjson.ActionCreate, tfjson.ActionDelete),
		rc("updated", nil, tfjson.ActionUpdate),
		rc("removed", nil, tfjson.ActionDelete),
	}}
	var got []string
	for _, d := range rotationsIn(plan) {
		got = append(got, d.Name)
		if d.Window != 168*time.Hour || !d.ExpiresAt.Equal(time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: window %s, expires %s", d.Name, d.Window, d.ExpiresAt)
		}
	}
	if want := []string{"due-abc", "due-destroy-first-abc"}; !slices.Equal(got, want) {
		t.Errorf("rotations = %v, want %v: only replacements forced by ready_for_rotation alone", got, want)
	}
}

func TestToHold(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	due := func(name string, expiresIn, window time.Duration) dueRotation {
		return dueRotation{Address: "tempo_token.this[\"" + name + "\"]", Name: name, ExpiresAt: now.Add(expiresIn), Window: window}
	}
	week := 168 * time.Hour
	all := []dueRotation{
		due("late", 160*time.Hour, week),
		due("early", 100*time.Hour, week),
		due("second-half", 80*time.Hour, week), // less than half its window left
		due("middle", 120*time.Hour, week),
		due("expired", -time.Hour, week),
		due("tie-b", 150*time.Hour, week),
		due("tie-a", 150*time.Hour, week),
	}
	names := func(ds []dueRotation) []string {
		var n []string
		for _, d := range ds {
			n = append(n, d.Name)
		}
		return n
	}
	for _, tc := range []struct {
		max  int
		want []string
	}{
		{0, nil},
		{7, nil},
		{10, nil},
		// expired, second-half, early rotate first; the rest wait, latest expiry last.
		{3, []string{"middle", "tie-a", "tie-b", "late"}},
		// The bound never holds a token with less than half its window left.
		{1, []string{"early", "middle", "tie-a", "tie-b", "late"}},
		{5, []string{"tie-b", "late"}},
	} {
		if got := names(toHold(all, tc.max, now)); !slices.Equal(got, tc.want) {
			t.Errorf("max %d: held %v, want %v", tc.max, got, tc.want)
		}
	}
}

func TestWriteHoldAndWithoutHeld(t *testing.T) {
	hold := []dueRotation{{Address: `tempo_token.this["a"]`, Name: "a-abc"}}
	path, err := writeHold(t.TempDir(), hold)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vars map[string][]string
	if err := json.Unmarshal(b, &vars); err != nil || !slices.Equal(vars["rotation_hold"], []string{"a-abc"}) {
		t.Fatalf("variables file %s: %v", b, err)
	}
	hs := []pendingRevocation{{Name: "a-abc", Address: `tempo_token.this["a"]`}, {Name: "b-abc", Address: `tempo_token.this["b"]`}}
	if got := withoutHeld(hs, hold); len(got) != 1 || got[0].Name != "b-abc" || len(hs) != 2 {
		t.Errorf("withoutHeld = %+v (input now %+v)", got, hs)
	}
}
