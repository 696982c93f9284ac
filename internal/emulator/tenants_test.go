package emulator

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTenantNameValidation(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"", false},
		{"ab", false},                   // 2 chars
		{"abc", true},                   // 3 chars
		{strings.Repeat("a", 64), true}, // 64 chars
		{strings.Repeat("b", 65), false},
		{"team_a-1", true},
		{"_ab", true}, // one underscore is not the reserved prefix
		{"Team-a", false},
		{"team.a", false},
		{"team a", false},
		{"team/a", false},
		{"tëam", false},
		{"__x", false},   // reserved prefix
		{"__abc", false}, // reserved prefix
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.admin("POST", api+"/tenants", map[string]any{"name": tc.name, "cluster": "tempo"})
			if tc.ok {
				e.want(r, http.StatusCreated)
				return
			}
			wantField(t, r, "name")
			if strings.HasPrefix(tc.name, "__") && !strings.Contains(string(r.body), "reserved") {
				t.Errorf("reserved-name error does not say so: %s", r.body)
			}
		})
	}
}

func TestTenantCreateFields(t *testing.T) {
	e := newEnv(t)

	r := e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}), http.StatusCreated)
	m := r.json(t)
	want := map[string]any{
		"name": "team-a", "display_name": "team-a", "cluster": "tempo",
		"status": "active", "created_at": testNow.Format(time.RFC3339),
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if len(m) != len(want) {
		t.Errorf("unexpected fields in %s", r.body)
	}

	r = e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "team-b", "cluster": "other", "display_name": "Team B"}), http.StatusCreated)
	if m := r.json(t); m["display_name"] != "Team B" || m["cluster"] != "other" {
		t.Errorf("display_name/cluster not kept: %s", r.body)
	}

	r = e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "team-c", "cluster": "tempo", "status": "inactive"}), http.StatusCreated)
	if r.json(t)["status"] != "inactive" {
		t.Errorf("status inactive not kept: %s", r.body)
	}
	e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "team-d", "cluster": "tempo", "status": "active"}), http.StatusCreated)

	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"cluster missing", map[string]any{"name": "team-x"}, "cluster"},
		{"cluster unknown", map[string]any{"name": "team-x", "cluster": "nope"}, "cluster"},
		{"status unknown", map[string]any{"name": "team-x", "cluster": "tempo", "status": "unknown"}, "status"},
		{"status other", map[string]any{"name": "team-x", "cluster": "tempo", "status": "paused"}, "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantField(t, e.admin("POST", api+"/tenants", tc.body), tc.field)
		})
	}
	e.want(e.admin("GET", api+"/tenants/team-x", nil), http.StatusNotFound)
}

func TestTenantCreatedAtIsUTCSeconds(t *testing.T) {
	local := time.FixedZone("X", 5*3600)
	e := newEnv(t, func(o *Options) { o.Now = func() time.Time { return time.Date(2031, 5, 6, 7, 8, 9, 987654321, local) } })
	r := e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}), http.StatusCreated)
	if got := r.json(t)["created_at"]; got != "2031-05-06T02:08:09Z" {
		t.Errorf("created_at %v, want 2031-05-06T02:08:09Z", got)
	}
}

func TestTenantUpdate(t *testing.T) {
	e := newEnv(t)
	e.mkTenant("team-a", "tempo")
	item := api + "/tenants/team-a"
	put := func(ifMatch string, body map[string]any) resp { return e.adminIfMatch("PUT", item, ifMatch, body) }

	r := e.want(put(`"1"`, map[string]any{"name": "team-a", "cluster": "tempo", "display_name": "Team A"}), http.StatusOK)
	if m := r.json(t); m["display_name"] != "Team A" || m["status"] != "active" || m["created_at"] != testNow.Format(time.RFC3339) {
		t.Errorf("PUT result %s", r.body)
	}
	// An empty name in the body means "the one in the URL".
	e.want(put(`"2"`, map[string]any{"cluster": "tempo", "display_name": "Team A"}), http.StatusOK)

	wantField(t, put(`"3"`, map[string]any{"name": "team-b", "cluster": "tempo"}), "name")
	wantField(t, put(`"3"`, map[string]any{"cluster": "other"}), "cluster")
	wantField(t, put(`"3"`, map[string]any{"cluster": ""}), "cluster")
	wantField(t, put(`"3"`, map[string]any{"cluster": "tempo", "status": "bogus"}), "status")

	// An empty display_name falls back to the name, as on create.
	r = e.want(put(`"3"`, map[string]any{"cluster": "tempo", "display_name": ""}), http.StatusOK)
	if r.json(t)["display_name"] != "team-a" {
		t.Errorf("empty display_name not defaulted: %s", r.body)
	}
	// Status can be set inactive and back to active.
	r = e.want(put(`"4"`, map[string]any{"cluster": "tempo", "status": "inactive"}), http.StatusOK)
	if r.json(t)["status"] != "inactive" {
		t.Errorf("status not inactive: %s", r.body)
	}
	// An omitted status keeps the current one.
	r = e.want(put(`"5"`, map[string]any{"cluster": "tempo", "display_name": "x"}), http.StatusOK)
	if r.json(t)["status"] != "inactive" {
		t.Errorf("omitted status changed it: %s", r.body)
	}
	r = e.want(put(`"6"`, map[string]any{"cluster": "tempo", "status": "active"}), http.StatusOK)
	if r.json(t)["status"] != "active" || r.etag() != `"7"` {
		t.Errorf("reactivation: ETag %s %s", r.etag(), r.body)
	}
}

func TestSystemTenant(t *testing.T) {
	e := newEnv(t)
	r := e.want(e.admin("GET", api+"/tenants", nil), http.StatusOK)
	if !slices.Contains(listNames(t, r, "tenant"), systemTenant) {
		t.Fatalf("__system__ not listed: %s", r.body)
	}
	r = e.want(e.admin("GET", api+"/tenants/__system__", nil), http.StatusOK)
	if m := r.json(t); m["status"] != "active" || m["cluster"] != "tempo" || r.etag() != `"1"` {
		t.Errorf("__system__: ETag %s %s", r.etag(), r.body)
	}
	wantField(t, e.admin("POST", api+"/tenants", map[string]any{"name": systemTenant, "cluster": "tempo"}), "name")
	wantField(t, e.adminIfMatch("PUT", api+"/tenants/__system__", `"1"`, map[string]any{"cluster": "tempo", "display_name": "x"}), "name")
	wantField(t, e.adminIfMatch("DELETE", api+"/tenants/__system__", `"1"`, nil), "name")
}

// TestSoftDelete covers every kind: DELETE marks inactive and returns the
// object, a repeat is a no-op, lists hide inactive objects unless asked, the
// object still reads back, and the name stays taken.
func TestSoftDelete(t *testing.T) {
	e := newEnv(t)
	for _, k := range kinds(e) {
		t.Run(k.path, func(t *testing.T) {
			item := api + k.path + "/obj-1"
			e.want(e.admin("POST", api+k.path, k.create), http.StatusCreated)

			r := e.want(e.adminIfMatch("DELETE", item, `"1"`, nil), http.StatusOK)
			if m := r.json(t); m["status"] != "inactive" || m["name"] != "obj-1" {
				t.Fatalf("DELETE body %s", r.body)
			}
			r = e.want(e.adminIfMatch("DELETE", item, `"2"`, nil), http.StatusOK)
			if r.etag() != `"2"` || r.json(t)["status"] != "inactive" {
				t.Fatalf("second DELETE: ETag %s %s", r.etag(), r.body)
			}
			r = e.want(e.admin("GET", item, nil), http.StatusOK)
			if r.json(t)["status"] != "inactive" {
				t.Fatalf("GET after DELETE: %s", r.body)
			}
			typ := map[string]string{"/tenants": "tenant", "/accesspolicies": "accesspolicy", "/tokens": "token"}[k.path]
			if names := listNames(t, e.want(e.admin("GET", api+k.path, nil), http.StatusOK), typ); slices.Contains(names, "obj-1") {
				t.Errorf("inactive object listed by default: %v", names)
			}
			if names := listNames(t, e.want(e.admin("GET", api+k.path+"?include-non-active=false", nil), http.StatusOK), typ); slices.Contains(names, "obj-1") {
				t.Errorf("inactive object listed with include-non-active=false: %v", names)
			}
			if names := listNames(t, e.want(e.admin("GET", api+k.path+"?include-non-active=true", nil), http.StatusOK), typ); !slices.Contains(names, "obj-1") {
				t.Errorf("inactive object missing with include-non-active=true: %v", names)
			}
			r = e.admin("POST", api+k.path, k.create)
			e.want(r, http.StatusConflict)
			wantErrorBody(t, r)

			if k.update != nil {
				body := map[string]any{}
				for kk, v := range k.update {
					body[kk] = v
				}
				body["status"] = "active"
				r = e.want(e.adminIfMatch("PUT", item, `"2"`, body), http.StatusOK)
				if r.json(t)["status"] != "active" || r.etag() != `"3"` {
					t.Fatalf("reactivation: ETag %s %s", r.etag(), r.body)
				}
				if names := listNames(t, e.want(e.admin("GET", api+k.path, nil), http.StatusOK), typ); !slices.Contains(names, "obj-1") {
					t.Errorf("reactivated object not listed: %v", names)
				}
			}
		})
	}
}

func TestNameTakenWhileActiveIsConflict(t *testing.T) {
	e := newEnv(t)
	for _, k := range kinds(e) {
		t.Run(k.path, func(t *testing.T) {
			e.want(e.admin("POST", api+k.path, k.create), http.StatusCreated)
			wantErrorBody(t, e.want(e.admin("POST", api+k.path, k.create), http.StatusConflict))
			if g := e.want(e.admin("GET", api+k.path+"/obj-1", nil), http.StatusOK); g.etag() != `"1"` {
				t.Errorf("409 changed the object: ETag %s", g.etag())
			}
		})
	}
}
