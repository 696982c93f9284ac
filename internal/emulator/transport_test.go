package emulator

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]Options{
		"no admin token":    {},
		"duplicate cluster": {AdminToken: "x", Clusters: []string{"a", "a"}},
		"empty cluster":     {AdminToken: "x", Clusters: []string{""}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(opts); err == nil {
				t.Fatal("New accepted invalid options")
			}
		})
	}
}

func TestBasePath(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		path   string
		status int
	}{
		{api + "/clusters", http.StatusOK},
		{api + "/tenants", http.StatusOK},
		{api + "/accesspolicies", http.StatusOK},
		{api + "/tokens", http.StatusOK},
		{"/admin/api/v2/tenants", http.StatusNotFound},
		{"/admin/api/v1/tenants", http.StatusNotFound},
		{"/tenants", http.StatusNotFound},
		{api, http.StatusNotFound},
		{api + "/", http.StatusNotFound},
		{api + "/nothing", http.StatusNotFound},
		{api + "/tenants/a/b", http.StatusNotFound},
		{"/", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := e.want(e.admin("GET", tc.path, nil), tc.status)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.status != http.StatusOK {
				wantErrorBody(t, r)
			}
		})
	}
}

func TestAdminAuthSchemes(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		auth   string
		status int
	}{
		{"basic empty user", basicAuth("", testAdminToken), http.StatusOK},
		{"basic any user", basicAuth("whoever", testAdminToken), http.StatusOK},
		{"bearer", "Bearer " + testAdminToken, http.StatusOK},
		{"bearer lower-case scheme", "bearer " + testAdminToken, http.StatusOK},
		{"missing", "", http.StatusUnauthorized},
		{"basic wrong token", basicAuth("", "nope"), http.StatusUnauthorized},
		{"basic token as user", basicAuth(testAdminToken, ""), http.StatusUnauthorized},
		{"bearer wrong token", "Bearer nope", http.StatusUnauthorized},
		{"bearer token prefix", "Bearer " + testAdminToken[:5], http.StatusUnauthorized},
		{"unknown scheme", "Token " + testAdminToken, http.StatusUnauthorized},
		{"bare token", testAdminToken, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.want(e.call("GET", api+"/tenants", nil, map[string]string{"Authorization": tc.auth}), tc.status)
			if tc.status != http.StatusOK {
				wantErrorBody(t, r)
			}
		})
	}
	// Mutations are refused without a credential too, and change nothing.
	r := e.call("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}, map[string]string{"Authorization": ""})
	e.want(r, http.StatusUnauthorized)
	e.want(e.admin("GET", api+"/tenants/team-a", nil), http.StatusNotFound)
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	e.mkTenant("team-a", "tempo")
	for _, tc := range []struct{ method, path string }{
		{"PUT", api + "/tenants"},
		{"DELETE", api + "/tenants"},
		{"PATCH", api + "/tenants"},
		{"PUT", api + "/accesspolicies"},
		{"DELETE", api + "/accesspolicies"},
		{"PUT", api + "/tokens"},
		{"DELETE", api + "/tokens"},
		{"POST", api + "/clusters"},
		{"PUT", api + "/clusters/tempo"},
		{"DELETE", api + "/clusters/tempo"},
		{"POST", api + "/tenants/team-a"},
		{"PATCH", api + "/tenants/team-a"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := e.want(e.adminIfMatch(tc.method, tc.path, `"1"`, map[string]any{}), http.StatusMethodNotAllowed)
			wantErrorBody(t, r)
			if r.header.Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
		})
	}
}

func TestClusters(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Clusters = []string{"zeta", "alpha"} })
	r := e.want(e.admin("GET", api+"/clusters", nil), http.StatusOK)
	if got := listNames(t, r, "cluster"); !slices.Equal(got, []string{"alpha", "zeta"}) {
		t.Errorf("clusters %v, want sorted [alpha zeta]", got)
	}
	if r.etag() != "" {
		t.Errorf("list carries ETag %q", r.etag())
	}
	r = e.want(e.admin("GET", api+"/clusters/zeta", nil), http.StatusOK)
	if r.etag() != `"1"` {
		t.Errorf("cluster ETag %q, want \"1\"", r.etag())
	}
	m := r.json(t)
	want := map[string]any{"name": "zeta", "display_name": "zeta", "kind": "traces", "created_at": testNow.Format(time.RFC3339)}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("cluster %s = %v, want %v", k, m[k], v)
		}
	}
	e.want(e.admin("GET", api+"/clusters/nope", nil), http.StatusNotFound)

	// The first cluster is this emulator's own: the built-in tenant lives there.
	r = e.want(e.admin("GET", api+"/tenants/__system__", nil), http.StatusOK)
	if c := r.json(t)["cluster"]; c != "zeta" {
		t.Errorf("__system__ cluster %v, want zeta", c)
	}
}

func TestDefaultCluster(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Clusters = nil })
	r := e.want(e.admin("GET", api+"/clusters", nil), http.StatusOK)
	if got := listNames(t, r, "cluster"); !slices.Equal(got, []string{"tempo"}) {
		t.Errorf("clusters %v, want [tempo]", got)
	}
}

func TestListsAreTypedAndSortedByName(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"ccc", "aaa", "bbb"} {
		e.mkTenant(n, "tempo")
		e.mkPolicy(n, []string{"traces:read"}, rlm(n, "tempo"))
		e.mkToken(n, n, "")
	}
	for _, tc := range []struct{ path, typ string }{
		{"/tenants", "tenant"},
		{"/accesspolicies", "accesspolicy"},
		{"/tokens", "token"},
	} {
		r := e.want(e.admin("GET", api+tc.path, nil), http.StatusOK)
		got := listNames(t, r, tc.typ)
		got = slices.DeleteFunc(got, func(s string) bool { return s == systemTenant })
		if !slices.Equal(got, []string{"aaa", "bbb", "ccc"}) {
			t.Errorf("%s: %v, want [aaa bbb ccc]", tc.path, got)
		}
	}
}

func TestInvalidBodies(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"not JSON", "{", ""},
		{"empty", "", ""},
		{"array", "[]", ""},
		{"trailing data", `{"name":"team-a","cluster":"tempo"} {}`, ""},
		{"unknown field", map[string]any{"name": "team-a", "cluster": "tempo", "displayName": "x"}, "displayName"},
		{"wrong type", map[string]any{"name": 7, "cluster": "tempo"}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.admin("POST", api+"/tenants", tc.body)
			if tc.field != "" {
				wantField(t, r, tc.field)
			} else {
				e.want(r, http.StatusBadRequest)
				wantErrorBody(t, r)
			}
		})
	}
	e.want(e.admin("GET", api+"/tenants/team-a", nil), http.StatusNotFound)
	e.want(e.admin("GET", api+"/tenants?include-non-active=maybe", nil), http.StatusBadRequest)
}
