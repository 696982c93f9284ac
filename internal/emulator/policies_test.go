package emulator

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPolicyValidation(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{
			"name":   "p",
			"realms": []any{rlm("team-a", "tempo")},
			"scopes": []any{"traces:read"},
		}
	}
	with := func(k string, v any) map[string]any { b := good(); b[k] = v; return b }
	lp := func(sel ...string) []any {
		var out []any
		for _, s := range sel {
			out = append(out, map[string]any{"selector": s})
		}
		return out
	}
	realmLP := func(sel ...string) []any {
		return []any{map[string]any{"tenant": "team-a", "cluster": "tempo", "label_policies": lp(sel...)}}
	}

	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string // "" means accepted
	}{
		{"1-char name", with("name", "a"), ""},
		{"128-char name", with("name", strings.Repeat("a", 128)), ""},
		{"129-char name", with("name", strings.Repeat("a", 129)), "name"},
		{"empty name", with("name", ""), "name"},
		{"upper-case name", with("name", "Policy"), "name"},
		{"dotted name", with("name", "a.b"), "name"},
		{"no realms", with("realms", []any{}), "realms"},
		{"realms missing", func() map[string]any { b := good(); delete(b, "realms"); return b }(), "realms"},
		{"wildcard tenant", with("realms", []any{rlm("*", "tempo")}), ""},
		{"tenant need not exist", with("realms", []any{rlm("not-yet-made", "tempo")}), ""},
		{"empty tenant", with("realms", []any{rlm("", "tempo")}), "realms[0].tenant"},
		{"short tenant", with("realms", []any{rlm("team-a", "tempo"), rlm("ab", "tempo")}), "realms[1].tenant"},
		{"bad tenant", with("realms", []any{rlm("Team", "tempo")}), "realms[0].tenant"},
		{"partial wildcard", with("realms", []any{rlm("team-*", "tempo")}), "realms[0].tenant"},
		{"empty cluster", with("realms", []any{rlm("team-a", "")}), "realms[0].cluster"},
		{"unknown cluster", with("realms", []any{rlm("team-a", "tempo"), rlm("team-a", "nope")}), "realms[1].cluster"},
		{"second cluster", with("realms", []any{rlm("team-a", "other")}), ""},
		{"label policy", with("realms", realmLP(`{env="prod"}`)), ""},
		{"empty label policies", with("realms", realmLP()), ""},
		{"empty selector", with("realms", realmLP(`{a="b"}`, "")), "realms[0].label_policies[1].selector"},
		{"selector without braces", with("realms", realmLP(`env="prod"`)), "realms[0].label_policies[0].selector"},
		{"selector open brace only", with("realms", realmLP(`{env="prod"`)), "realms[0].label_policies[0].selector"},
		{"no scopes", with("scopes", []any{}), "scopes"},
		{"scopes missing", func() map[string]any { b := good(); delete(b, "scopes"); return b }(), "scopes"},
		{"scope without action", with("scopes", []any{"traces:read", "traces"}), "scopes[1]"},
		{"scope upper-case", with("scopes", []any{"Traces:read"}), "scopes[0]"},
		{"scope three parts", with("scopes", []any{"traces:read:all"}), "scopes[0]"},
		{"scope starts with digit", with("scopes", []any{"1traces:read"}), "scopes[0]"},
		{"scope empty", with("scopes", []any{""}), "scopes[0]"},
		{"duplicate scope", with("scopes", []any{"traces:read", "traces:write", "traces:read"}), "scopes[2]"},
		{"shared family scopes", with("scopes", []any{"metrics:write", "logs:read", "rules:read", "alerts:write", "traces:delete", "admin:read"}), ""},
		{"status inactive", with("status", "inactive"), ""},
		{"status bogus", with("status", "gone"), "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh server per case keeps accepted names from colliding.
			e := newEnv(t)
			r := e.admin("POST", api+"/accesspolicies", tc.body)
			if tc.field == "" {
				e.want(r, http.StatusCreated)
			} else {
				wantField(t, r, tc.field)
			}
		})
	}
}

func TestPolicyFieldsAndCanonicalOrder(t *testing.T) {
	e := newEnv(t)
	realms := []any{
		map[string]any{"tenant": "team-b", "cluster": "tempo", "label_policies": []any{
			map[string]any{"selector": `{z="1"}`}, map[string]any{"selector": `{a="1"}`},
		}},
		rlm("*", "other"),
		rlm("team-a", "tempo"),
	}
	scopes := []any{"traces:write", "admin:read", "traces:read"}
	r1 := e.want(e.admin("POST", api+"/accesspolicies", map[string]any{
		"name": "p1", "display_name": "Policy one", "realms": realms, "scopes": scopes,
	}), http.StatusCreated)

	// The same sets in another order give the same canonical answer.
	rev := func(in []any) []any {
		out := make([]any, len(in))
		for i := range in {
			out[len(in)-1-i] = in[i]
		}
		return out
	}
	r2 := e.want(e.admin("POST", api+"/accesspolicies", map[string]any{
		"name": "p2", "display_name": "Policy one", "realms": rev(realms), "scopes": rev(scopes),
	}), http.StatusCreated)

	var p1, p2 struct {
		Name        string   `json:"name"`
		DisplayName string   `json:"display_name"`
		Realms      []realm  `json:"realms"`
		Scopes      []string `json:"scopes"`
		Status      string   `json:"status"`
		CreatedAt   string   `json:"created_at"`
	}
	if err := json.Unmarshal(r1.body, &p1); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(r2.body, &p2); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p1.Realms, p2.Realms) || !reflect.DeepEqual(p1.Scopes, p2.Scopes) {
		t.Errorf("order-dependent answer:\n%s\n%s", r1.body, r2.body)
	}
	wantScopes := []string{"admin:read", "traces:read", "traces:write"}
	if !reflect.DeepEqual(p1.Scopes, wantScopes) {
		t.Errorf("scopes %v, want %v", p1.Scopes, wantScopes)
	}
	if len(p1.Realms) != 3 || p1.Realms[0].Tenant != "*" || p1.Realms[1].Tenant != "team-a" {
		t.Errorf("realms not sorted: %s", r1.body)
	}
	if lps := p1.Realms[2].LabelPolicies; len(lps) != 2 || lps[0].Selector != `{a="1"}` {
		t.Errorf("label policies not sorted: %s", r1.body)
	}
	if p1.DisplayName != "Policy one" || p1.Status != "active" || p1.CreatedAt != testNow.Format(time.RFC3339) {
		t.Errorf("fields: %s", r1.body)
	}
	if !strings.Contains(string(r1.body), `"label_policies":[]`) {
		t.Errorf("realm without label policies should carry an empty list: %s", r1.body)
	}
	// GET answers exactly what POST did.
	g := e.want(e.admin("GET", api+"/accesspolicies/p1", nil), http.StatusOK)
	if strings.TrimSpace(string(g.body)) != strings.TrimSpace(string(r1.body)) {
		t.Errorf("GET differs from POST:\n%s\n%s", g.body, r1.body)
	}
}

func TestPolicyUpdate(t *testing.T) {
	e := newEnv(t)
	e.mkPolicy("p", []string{"traces:read"}, rlm("team-a", "tempo"))
	item := api + "/accesspolicies/p"
	r := e.want(e.adminIfMatch("PUT", item, `"1"`, map[string]any{
		"display_name": "P", "realms": []any{rlm("team-b", "other")}, "scopes": []any{"traces:write", "traces:read"},
	}), http.StatusOK)
	m := r.json(t)
	if m["display_name"] != "P" || r.etag() != `"2"` {
		t.Errorf("PUT: ETag %s %s", r.etag(), r.body)
	}
	if !strings.Contains(string(r.body), `"scopes":["traces:read","traces:write"]`) || !strings.Contains(string(r.body), `"tenant":"team-b","cluster":"other"`) {
		t.Errorf("PUT did not replace realms/scopes: %s", r.body)
	}
	wantField(t, e.adminIfMatch("PUT", item, `"2"`, map[string]any{"name": "q", "realms": []any{rlm("team-a", "tempo")}, "scopes": []any{"traces:read"}}), "name")
	wantField(t, e.adminIfMatch("PUT", item, `"2"`, map[string]any{"realms": []any{}, "scopes": []any{"traces:read"}}), "realms")
	wantField(t, e.adminIfMatch("PUT", item, `"2"`, map[string]any{"realms": []any{rlm("team-a", "tempo")}, "scopes": []any{"x"}}), "scopes[0]")
	if g := e.want(e.admin("GET", item, nil), http.StatusOK); g.etag() != `"2"` {
		t.Errorf("failed PUTs bumped the version: %s", g.etag())
	}
}
