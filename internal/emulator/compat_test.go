package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestParseCompat(t *testing.T) {
	all := Compat{DisplayNameDefault: true, Conflict409: true, Create200: true, Delete204: true, TextErrors: true, OffsetTimes: true}
	for _, tc := range []struct {
		in   string
		want Compat
	}{
		{"", Compat{}},
		{"strict", Compat{}},
		{" strict ", Compat{}},
		{"display-name-default", Compat{DisplayNameDefault: true}},
		{"conflict-409", Compat{Conflict409: true}},
		{"create-200", Compat{Create200: true}},
		{"delete-204", Compat{Delete204: true}},
		{"text-errors", Compat{TextErrors: true}},
		{"offset-times", Compat{OffsetTimes: true}},
		{"create-200, delete-204", Compat{Create200: true, Delete204: true}},
		{"create-200,create-200,", Compat{Create200: true}},
		{"all", all},
		{"all,text-errors", all},
		{"display-name-default,conflict-409,create-200,delete-204,text-errors,offset-times", all},
	} {
		got, err := ParseCompat(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseCompat(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"bogus", "create-201", "CREATE-200", "strict,create-200", "create-200,strict", "all strict"} {
		_, err := ParseCompat(in)
		if err == nil {
			t.Errorf("ParseCompat(%q) accepted", in)
			continue
		}
		// The error lists what would have been accepted.
		for _, name := range append(CompatVariants(), "all", "strict") {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("ParseCompat(%q) error %q does not list %q", in, err, name)
			}
		}
	}
}

// String is what the standalone server logs, and must parse back.
func TestCompatStringRoundTrips(t *testing.T) {
	if got := (Compat{}).String(); got != "strict" {
		t.Errorf("String of no variant = %q, want strict", got)
	}
	names := CompatVariants()
	if len(names) != 6 {
		t.Fatalf("CompatVariants() = %v", names)
	}
	for mask := 0; mask < 1<<len(names); mask++ {
		var picked []string
		for i, n := range names {
			if mask&(1<<i) != 0 {
				picked = append(picked, n)
			}
		}
		c, err := ParseCompat(strings.Join(picked, ","))
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseCompat(c.String())
		if err != nil || back != c {
			t.Errorf("%+v: String %q parses to %+v, %v", c, c.String(), back, err)
		}
	}
}

// TestCompatVariants drives the HTTP surface under each variant alone, all
// of them together and none, checking what changes and what must not.
func TestCompatVariants(t *testing.T) {
	configs := map[string]Compat{"strict": {}}
	for _, name := range append(CompatVariants(), "all") {
		c, err := ParseCompat(name)
		if err != nil {
			t.Fatal(err)
		}
		configs[name] = c
	}
	for name, c := range configs {
		t.Run(name, func(t *testing.T) { exerciseCompat(t, c) })
	}
}

func exerciseCompat(t *testing.T, c Compat) {
	e := newEnv(t, func(o *Options) { o.Compat = c })
	created := http.StatusCreated
	if c.Create200 {
		created = http.StatusOK
	}
	stale := http.StatusPreconditionFailed
	if c.Conflict409 {
		stale = http.StatusConflict
	}
	defaulted := func(name string) string {
		if c.DisplayNameDefault {
			return name
		}
		return ""
	}
	wantObject := func(r resp, etag string, fields map[string]any) map[string]any {
		t.Helper()
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if r.etag() != etag {
			t.Errorf("ETag %q, want %s", r.etag(), etag)
		}
		m := r.json(t)
		for k, v := range fields {
			if m[k] != v {
				t.Errorf("%s = %v, want %v; body %s", k, m[k], v, r.body)
			}
		}
		return m
	}

	// Creates: the status may change, the body and ETag may not.
	tenant := e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}), created)
	wantObject(tenant, `"1"`, map[string]any{"name": "team-a", "display_name": "team-a", "status": "active"})
	pol := e.want(e.admin("POST", api+"/accesspolicies", map[string]any{
		"name": "pol", "realms": []any{rlm("team-a", "tempo")}, "scopes": []string{"traces:write"},
	}), created)
	wantObject(pol, `"1"`, map[string]any{"name": "pol", "display_name": defaulted("pol")})
	named := e.want(e.admin("POST", api+"/accesspolicies", map[string]any{
		"name": "named", "display_name": "Named", "realms": []any{rlm("*", "tempo")}, "scopes": []string{"traces:read"},
	}), created)
	wantObject(named, `"1"`, map[string]any{"display_name": "Named"})
	tok := e.want(e.admin("POST", api+"/tokens", map[string]any{"name": "tok", "access_policy": "pol"}), created)
	secret, _ := wantObject(tok, `"1"`, map[string]any{"name": "tok", "display_name": defaulted("tok")})["token"].(string)
	if secret == "" {
		t.Fatalf("no secret in the token create response: %s", tok.body)
	}
	e.want(e.data("POST", "/otlp/v1/traces", "team-a", secret), http.StatusOK)
	// Instants: "Z", or the same instant with "+00:00".
	exp := e.want(e.admin("POST", api+"/tokens", map[string]any{"name": "exp", "access_policy": "pol", "expiration": "2099-01-01T02:00:00+02:00"}), created)
	suffix := "Z"
	if c.OffsetTimes {
		suffix = "+00:00"
	}
	for _, r := range []resp{exp, e.want(e.admin("GET", api+"/tokens/exp", nil), http.StatusOK)} {
		m := r.json(t)
		if m["expiration"] != "2099-01-01T00:00:00"+suffix || !strings.HasSuffix(fmt.Sprint(m["created_at"]), suffix) {
			t.Errorf("instants spelled %v and %v, want UTC ending in %s", m["expiration"], m["created_at"], suffix)
		}
	}
	// What was stored is what reads back.
	wantObject(e.want(e.admin("GET", api+"/accesspolicies/pol", nil), http.StatusOK), `"1"`, map[string]any{"display_name": defaulted("pol")})
	wantObject(e.want(e.admin("GET", api+"/tokens/tok", nil), http.StatusOK), `"1"`, map[string]any{"display_name": defaulted("tok")})

	// Updates: an emptied display name follows the variant too.
	update := func(display string) map[string]any {
		return map[string]any{"display_name": display, "realms": []any{rlm("team-a", "tempo")}, "scopes": []string{"traces:write"}}
	}
	wantObject(e.want(e.adminIfMatch("PUT", api+"/accesspolicies/pol", `"1"`, update("Pol")), http.StatusOK), `"2"`, map[string]any{"display_name": "Pol"})
	wantObject(e.want(e.adminIfMatch("PUT", api+"/accesspolicies/pol", `"2"`, update("")), http.StatusOK), `"3"`, map[string]any{"display_name": defaulted("pol")})
	wantObject(e.want(e.adminIfMatch("PUT", api+"/tenants/team-a", `"1"`, map[string]any{"cluster": "tempo"}), http.StatusOK), `"2"`, map[string]any{"display_name": "team-a"})

	// Stale and missing If-Match, on PUT and DELETE; nothing changes.
	wantCompatError(t, c, e.adminIfMatch("PUT", api+"/accesspolicies/pol", `"1"`, update("x")), stale, "")
	wantCompatError(t, c, e.adminIfMatch("DELETE", api+"/accesspolicies/pol", `"1"`, nil), stale, "")
	wantCompatError(t, c, e.adminIfMatch("DELETE", api+"/tokens/tok", `"7"`, nil), stale, "")
	wantCompatError(t, c, e.adminIfMatch("PUT", api+"/accesspolicies/pol", "", update("x")), http.StatusPreconditionRequired, "")
	wantCompatError(t, c, e.adminIfMatch("DELETE", api+"/tenants/team-a", "", nil), http.StatusPreconditionRequired, "")
	wantObject(e.want(e.admin("GET", api+"/accesspolicies/pol", nil), http.StatusOK), `"3"`, map[string]any{"status": "active"})

	// Deletes, including the no-op delete of an inactive object.
	for _, tc := range []struct{ path, ifMatch, etag string }{
		{api + "/tenants/team-a", `"2"`, `"3"`},
		{api + "/tenants/team-a", `"3"`, `"3"`},
		{api + "/tokens/tok", `"1"`, `"2"`},
	} {
		r := e.want(e.adminIfMatch("DELETE", tc.path, tc.ifMatch, nil), map[bool]int{false: http.StatusOK, true: http.StatusNoContent}[c.Delete204])
		if c.Delete204 {
			if len(r.body) != 0 || r.header.Get("Content-Type") != "" || r.etag() != "" {
				t.Errorf("DELETE %s: 204 with Content-Type %q, ETag %q, body %q", tc.path, r.header.Get("Content-Type"), r.etag(), r.body)
			}
		} else {
			wantObject(r, tc.etag, map[string]any{"status": "inactive"})
		}
		wantObject(e.want(e.admin("GET", tc.path, nil), http.StatusOK), tc.etag, map[string]any{"status": "inactive"})
	}
	e.want(e.data("POST", "/otlp/v1/traces", "team-a", secret), http.StatusUnauthorized)

	// Every error outside the control surface follows text-errors.
	wantCompatError(t, c, e.admin("POST", api+"/tenants", map[string]any{"name": "A", "cluster": "tempo"}), http.StatusBadRequest, "name")
	wantCompatError(t, c, e.admin("POST", api+"/accesspolicies", map[string]any{"name": "p2", "realms": []any{rlm("team-a", "nowhere")}, "scopes": []string{"traces:read"}}), http.StatusBadRequest, "realms[0].cluster")
	wantCompatError(t, c, e.admin("POST", api+"/tenants", `{"name":`), http.StatusBadRequest, "")
	wantCompatError(t, c, e.admin("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}), http.StatusConflict, "")
	wantCompatError(t, c, e.admin("GET", api+"/tenants/nobody", nil), http.StatusNotFound, "")
	wantCompatError(t, c, e.admin("GET", api+"/nothing", nil), http.StatusNotFound, "")
	wantCompatError(t, c, e.admin("GET", "/nowhere", nil), http.StatusNotFound, "")
	r := wantCompatError(t, c, e.call("GET", api+"/tenants", nil, map[string]string{"Authorization": ""}), http.StatusUnauthorized, "")
	if c.TextErrors && string(r.body) != "missing admin token\n" {
		t.Errorf("401 body %q, want the bare message", r.body)
	}
	wantCompatError(t, c, e.adminIfMatch("PUT", api+"/tokens/tok", `"2"`, map[string]any{}), http.StatusMethodNotAllowed, "")
	if r := e.adminIfMatch("PUT", api+"/tokens/tok", `"2"`, map[string]any{}); r.header.Get("Allow") != "GET, DELETE" {
		t.Errorf("405 Allow %q", r.header.Get("Allow"))
	}
	wantCompatError(t, c, e.data("GET", "/api/search", "team-a", "nope"), http.StatusUnauthorized, "")
	e.srv.InjectFault(Fault{Path: api + "/clusters", Status: http.StatusTooManyRequests, RetryAfter: "2"})
	if r := wantCompatError(t, c, e.admin("GET", api+"/clusters", nil), http.StatusTooManyRequests, ""); r.header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}

	// The control surface answers JSON whatever the variant.
	noAuth := map[string]string{"Authorization": ""}
	wantField(t, e.call("POST", "/_emulator/clock", map[string]any{"advance_seconds": -1}, noAuth), "advance_seconds")
	wantErrorBody(t, e.want(e.call("POST", "/_emulator/faults", "{", noAuth), http.StatusBadRequest))
	wantErrorBody(t, e.want(e.call("GET", "/_emulator/nothing", nil, noAuth), http.StatusNotFound))
	if r := e.want(e.call("GET", "/_emulator/faults", nil, noAuth), http.StatusMethodNotAllowed); r.header.Get("Allow") != "POST" {
		t.Errorf("control 405 Allow %q", r.header.Get("Allow"))
	} else {
		wantErrorBody(t, r)
	}
	if r := e.want(e.call("GET", "/_emulator/counts", nil, noAuth), http.StatusOK); r.header.Get("Content-Type") != "application/json" {
		t.Errorf("counts Content-Type %q", r.header.Get("Content-Type"))
	}
	e.want(e.call("POST", "/_emulator/reset", nil, noAuth), http.StatusNoContent)
}

// wantCompatError checks an error response in the form the variant chose:
// JSON with "error" (and "field"), or the bare message as text.
func wantCompatError(t *testing.T, c Compat, r resp, status int, field string) resp {
	t.Helper()
	if r.err != nil {
		t.Fatalf("request failed: %v", r.err)
	}
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if r.etag() != "" {
		t.Errorf("error response carries ETag %q", r.etag())
	}
	if !c.TextErrors {
		if field != "" {
			wantField(t, r, field)
		} else {
			wantErrorBody(t, r)
		}
		return r
	}
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("error Content-Type %q, want text/plain; charset=utf-8", ct)
	}
	msg := strings.TrimSuffix(string(r.body), "\n")
	if msg == "" || strings.HasPrefix(msg, "{") || strings.Contains(msg, "\n") {
		t.Errorf("text error body %q is not a one-line message", r.body)
	}
	if field != "" && !strings.HasPrefix(msg, field+": ") {
		t.Errorf("text error %q does not start with %q", msg, field+": ")
	}
	return r
}
