package runner

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

func TestAdoptable(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	vars, err := parseVars([]byte(`{
		"tenants": {"team-a": {}, "team-new": {}, "team-off": {}},
		"access_policies": {"write-a": {}, "read-new": {}},
		"tokens": {
			"fixed":     {"name": "fixed", "access_policy": "write-a"},
			"otel":      {"name_prefix": "otel", "access_policy": "write-a"},
			"twice":     {"name_prefix": "twice", "access_policy": "write-a"},
			"held":      {"name_prefix": "held", "access_policy": "write-a"},
			"pending":   {"name_prefix": "pending", "access_policy": "write-a"},
			"fresh":     {"name_prefix": "fresh", "access_policy": "write-a"},
			"other-pol": {"name_prefix": "other", "access_policy": "write-a"},
			"named":     {"name_prefix": "named", "access_policy": "write-a"}
		},
		"adopt": {"tokens": {"named": "named-bbbbbbbbbbbb"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tk := func(name, policy, status, exp string) adminapi.Token {
		return adminapi.Token{Name: name, AccessPolicy: policy, Status: status, Expiration: exp}
	}
	active := adminapi.StatusActive
	have := existing{
		tenants:  map[string]bool{"team-a": true, "team-off": false, "team-else": true},
		policies: map[string]bool{"write-a": true},
		tokens: []adminapi.Token{
			tk("fixed", "write-a", active, ""),
			tk("otel-abcdefghijkl", "write-a", active, "2027-01-01T00:00:00Z"),
			tk("otel-000000000000", "write-a", active, "2026-11-01T00:00:00Z"), // expired
			tk("otel-111111111111", "write-a", adminapi.StatusInactive, ""),    // revoked
			tk("otel", "write-a", active, ""),                                  // not a generated name
			tk("twice-aaaaaaaaaaaa", "write-a", active, ""),
			tk("twice-bbbbbbbbbbbb", "write-a", active, ""),
			tk("held-aaaaaaaaaaaa", "write-a", active, ""),
			tk("held-bbbbbbbbbbbb", "write-a", active, ""),
			tk("pending-aaaaaaaaaaaa", "write-a", active, ""),
			tk("pending-bbbbbbbbbbbb", "write-a", active, ""),
			tk("other-aaaaaaaaaaaa", "read-a", active, ""), // another policy
			tk("named-aaaaaaaaaaaa", "write-a", active, ""),
			tk("named-bbbbbbbbbbbb", "write-a", active, ""),
		},
	}
	state := map[string]TokenSecret{"held": {TokenName: "held-aaaaaaaaaaaa"}}
	skip := map[string]bool{"pending-aaaaaaaaaaaa": true}
	got, ambiguous := adoptable(vars, have, state, skip, now)
	if !slices.Equal(got.Tenants, []string{"team-a"}) || !slices.Equal(got.AccessPolicies, []string{"write-a"}) {
		t.Errorf("tenants %v, policies %v; want the active declared ones", got.Tenants, got.AccessPolicies)
	}
	want := map[string]string{"fixed": "fixed", "otel": "otel-abcdefghijkl", "pending": "pending-bbbbbbbbbbbb"}
	if !maps.Equal(got.Tokens, want) {
		t.Errorf("tokens %v, want %v", got.Tokens, want)
	}
	if len(ambiguous) != 2 || ambiguous[0].Name != "twice-aaaaaaaaaaaa" || ambiguous[1].Name != "twice-bbbbbbbbbbbb" || ambiguous[0].Address != `tempo_token.this["twice"]` {
		t.Errorf("ambiguous %+v, want the two candidates of twice, for revocation", ambiguous)
	}
}

func TestAdoptionsMergeAndSet(t *testing.T) {
	explicit := adoptions{Tenants: []string{"b"}, Tokens: map[string]string{"x": "x-named"}}
	found := adoptions{Tenants: []string{"a", "b"}, AccessPolicies: []string{"p"}, Tokens: map[string]string{"x": "x-found", "y": "y-1"}}
	got := explicit.merge(found)
	if !slices.Equal(got.Tenants, []string{"a", "b"}) || !slices.Equal(got.AccessPolicies, []string{"p"}) ||
		!maps.Equal(got.Tokens, map[string]string{"x": "x-named", "y": "y-1"}) || got.count() != 5 {
		t.Errorf("merge = %+v; the values' own entries win", got)
	}
	// The values' own adopt is replaced, the other variables kept.
	b, err := withAdopt([]byte(`{"tenants":{"a":{}},"adopt":{"tenants":["b"]}}`), got)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Tenants map[string]json.RawMessage
		Adopt   adoptions
	}
	if err := json.Unmarshal(b, &back); err != nil || !maps.Equal(back.Adopt.Tokens, got.Tokens) ||
		!slices.Equal(back.Adopt.Tenants, got.Tenants) || len(back.Tenants) != 1 {
		t.Errorf("variables %s: %v", b, err)
	}
	if _, err := withAdopt([]byte(`[`), got); err == nil {
		t.Error("malformed variables must not be overwritten")
	}
}

func TestImportsIn(t *testing.T) {
	rc := func(addr string, importing bool, acts ...tfjson.Action) *tfjson.ResourceChange {
		c := &tfjson.Change{Actions: acts}
		if importing {
			c.Importing = &tfjson.Importing{ID: addr}
		}
		return &tfjson.ResourceChange{Address: addr, Mode: tfjson.ManagedResourceMode, Type: "tempo_token", Change: c}
	}
	plan := &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{
		rc("a", true, tfjson.ActionNoop),
		rc("b", true, tfjson.ActionUpdate),
		rc("c", true, tfjson.ActionCreate, tfjson.ActionDelete),
		rc("d", false, tfjson.ActionCreate, tfjson.ActionDelete),
	}}
	n, replaced := importsIn(plan)
	if n != 3 || !slices.Equal(replaced, []string{"  c"}) {
		t.Errorf("imports %d, replaced %v", n, replaced)
	}
	var rep report
	rep.count(plan)
	if rep.update != 0 || rep.rotate != 1 {
		t.Errorf("an import is counted as a change: %+v", rep)
	}
}
