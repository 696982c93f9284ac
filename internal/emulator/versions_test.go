package emulator

import (
	"fmt"
	"net/http"
	"testing"
)

// kind describes one mutable object kind for table-driven tests of the rules
// the contract states once for all kinds.
type kind struct {
	path   string
	create map[string]any
	update map[string]any // nil for tokens, which cannot be updated
}

func kinds(e *env) []kind {
	e.mkPolicy("base-policy", []string{"traces:read"}, rlm("*", "tempo"))
	return []kind{
		{
			path:   "/tenants",
			create: map[string]any{"name": "obj-1", "cluster": "tempo"},
			update: map[string]any{"name": "obj-1", "cluster": "tempo", "display_name": "changed"},
		},
		{
			path:   "/accesspolicies",
			create: map[string]any{"name": "obj-1", "realms": []any{rlm("obj-1", "tempo")}, "scopes": []string{"traces:read"}},
			update: map[string]any{"name": "obj-1", "realms": []any{rlm("obj-1", "tempo")}, "scopes": []string{"traces:write"}},
		},
		{
			path:   "/tokens",
			create: map[string]any{"name": "obj-1", "access_policy": "base-policy"},
		},
	}
}

func TestETagOnEverySingleObjectResponse(t *testing.T) {
	e := newEnv(t)
	for _, k := range kinds(e) {
		t.Run(k.path, func(t *testing.T) {
			item := api + k.path + "/obj-1"
			r := e.want(e.admin("POST", api+k.path, k.create), http.StatusCreated)
			if r.etag() != `"1"` {
				t.Fatalf("POST ETag %q, want \"1\"", r.etag())
			}
			if r = e.want(e.admin("GET", item, nil), http.StatusOK); r.etag() != `"1"` {
				t.Fatalf("GET ETag %q, want \"1\"", r.etag())
			}
			v := 1
			if k.update != nil {
				r = e.want(e.adminIfMatch("PUT", item, `"1"`, k.update), http.StatusOK)
				v = 2
				if r.etag() != `"2"` {
					t.Fatalf("PUT ETag %q, want \"2\"", r.etag())
				}
			}
			r = e.want(e.adminIfMatch("DELETE", item, fmt.Sprintf(`"%d"`, v), nil), http.StatusOK)
			if want := fmt.Sprintf(`"%d"`, v+1); r.etag() != want {
				t.Fatalf("DELETE ETag %q, want %s", r.etag(), want)
			}
			if r = e.want(e.admin("GET", item, nil), http.StatusOK); r.etag() != fmt.Sprintf(`"%d"`, v+1) {
				t.Fatalf("GET after DELETE ETag %q", r.etag())
			}
			if r = e.want(e.admin("GET", api+k.path, nil), http.StatusOK); r.etag() != "" {
				t.Fatalf("list carries ETag %q", r.etag())
			}
		})
	}
}

func TestIfMatch(t *testing.T) {
	e := newEnv(t)
	for _, k := range kinds(e) {
		item := api + k.path + "/obj-1"
		e.want(e.admin("POST", api+k.path, k.create), http.StatusCreated)
		methods := []string{"DELETE"}
		if k.update != nil {
			methods = append(methods, "PUT")
		}
		for _, method := range methods {
			body := k.update
			for _, tc := range []struct {
				name    string
				ifMatch string
				status  int
			}{
				{"missing", "", http.StatusPreconditionRequired},
				{"stale", `"7"`, http.StatusPreconditionFailed},
				{"stale unquoted", `0`, http.StatusPreconditionFailed},
				{"not a version", `"abc"`, http.StatusPreconditionFailed},
			} {
				t.Run(k.path+" "+method+" "+tc.name, func(t *testing.T) {
					r := e.want(e.adminIfMatch(method, item, tc.ifMatch, body), tc.status)
					wantErrorBody(t, r)
					// A refused mutation changes nothing.
					g := e.want(e.admin("GET", item, nil), http.StatusOK)
					if g.etag() != `"1"` || g.json(t)["status"] != "active" {
						t.Fatalf("object changed by a refused %s: ETag %s %s", method, g.etag(), g.body)
					}
				})
			}
			t.Run(k.path+" "+method+" nonexistent is 404 before If-Match", func(t *testing.T) {
				e.want(e.adminIfMatch(method, api+k.path+"/never-existed", "", body), http.StatusNotFound)
				e.want(e.adminIfMatch(method, api+k.path+"/never-existed", `"1"`, body), http.StatusNotFound)
			})
		}
		if k.update != nil {
			t.Run(k.path+" precondition is checked before the body", func(t *testing.T) {
				e.want(e.adminIfMatch("PUT", item, "", map[string]any{"bogus": true}), http.StatusPreconditionRequired)
				e.want(e.adminIfMatch("PUT", item, `"9"`, map[string]any{"bogus": true}), http.StatusPreconditionFailed)
			})
			t.Run(k.path+" unquoted and weak forms are accepted", func(t *testing.T) {
				e.want(e.adminIfMatch("PUT", item, `1`, k.update), http.StatusOK)
				e.want(e.adminIfMatch("PUT", item, `W/"2"`, k.update), http.StatusOK)
				if g := e.want(e.admin("GET", item, nil), http.StatusOK); g.etag() != `"3"` {
					t.Fatalf("ETag %s, want \"3\"", g.etag())
				}
			})
		}
	}
}

func TestVersionIncrementsByOnePerMutation(t *testing.T) {
	e := newEnv(t)
	e.mkTenant("team-a", "tempo")
	item := api + "/tenants/team-a"
	for v := 1; v <= 5; v++ {
		r := e.want(e.adminIfMatch("PUT", item, fmt.Sprintf(`"%d"`, v),
			map[string]any{"cluster": "tempo", "display_name": fmt.Sprint("v", v)}), http.StatusOK)
		if want := fmt.Sprintf(`"%d"`, v+1); r.etag() != want {
			t.Fatalf("after PUT %d: ETag %s, want %s", v, r.etag(), want)
		}
	}
	r := e.want(e.adminIfMatch("DELETE", item, `"6"`, nil), http.StatusOK)
	if r.etag() != `"7"` {
		t.Fatalf("DELETE ETag %s, want \"7\"", r.etag())
	}
	// Deleting an inactive object is a no-op: 200, same version.
	r = e.want(e.adminIfMatch("DELETE", item, `"7"`, nil), http.StatusOK)
	if r.etag() != `"7"` || r.json(t)["status"] != "inactive" {
		t.Fatalf("no-op DELETE: ETag %s body %s", r.etag(), r.body)
	}
	// A failed validation does not bump the version.
	wantField(t, e.adminIfMatch("PUT", item, `"7"`, map[string]any{"cluster": "tempo", "status": "paused"}), "status")
	if g := e.want(e.admin("GET", item, nil), http.StatusOK); g.etag() != `"7"` {
		t.Fatalf("ETag %s after failed PUT, want \"7\"", g.etag())
	}
}
