package emulator

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPersistenceAcrossNew(t *testing.T) {
	dir := t.TempDir()
	withDir := func(o *Options) { o.DataDir = dir }
	e := newEnv(t, withDir)
	e.mkTenant("team-a", "tempo")
	e.mkTenant("team-b", "other")
	e.want(e.adminIfMatch("PUT", api+"/tenants/team-a", `"1"`, map[string]any{"cluster": "tempo", "display_name": "Team A"}), 200)
	e.del(api + "/tenants/team-b")
	e.mkPolicy("p", []string{"traces:write", "traces:read"}, rlm("team-a", "tempo"), rlm("*", "other"))
	exp := testNow.Add(48 * time.Hour).Format(time.RFC3339)
	secret := e.mkToken("tok", "p", exp)
	e.mkToken("revoked", "p", "")
	e.del(api + "/tokens/revoked")

	before := map[string]resp{}
	paths := []string{
		"/tenants/team-a", "/tenants/team-b", "/tenants/__system__", "/accesspolicies/p",
		"/tokens/tok", "/tokens/revoked", "/clusters/tempo", "/clusters/other",
	}
	for _, p := range paths {
		before[p] = e.want(e.admin("GET", api+p, nil), 200)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	// A closed server acknowledges no more writes.
	e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "late", "cluster": "tempo"}), http.StatusServiceUnavailable)

	// The state file holds digests, never secrets or the admin token.
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), secret) || strings.Contains(string(data), testAdminToken) {
		t.Fatal("state file contains a credential")
	}

	// Restart later, with the same clusters: everything reads back the same.
	e2 := newEnv(t, withDir, func(o *Options) { o.Now = func() time.Time { return testNow.Add(time.Hour) } })
	for _, p := range paths {
		r := e2.want(e2.admin("GET", api+p, nil), 200)
		if r.etag() != before[p].etag() || string(r.body) != string(before[p].body) {
			t.Errorf("%s after restart:\n  ETag %s %s\nwant\n  ETag %s %s", p, r.etag(), r.body, before[p].etag(), before[p].body)
		}
	}
	e2.want(e2.admin("GET", api+"/tenants/late", nil), 404)
	// Secrets still verify; revoked ones still don't; names stay taken.
	e2.want(e2.data("POST", "/otlp/v1/traces", "team-a", secret), 200)
	e2.want(e2.admin("POST", api+"/tenants", map[string]any{"name": "team-b", "cluster": "other"}), 409)
	e2.want(e2.admin("POST", api+"/tokens", map[string]any{"name": "revoked", "access_policy": "p"}), 409)
	// Versions continue from where they were.
	r := e2.want(e2.adminIfMatch("PUT", api+"/tenants/team-a", `"2"`, map[string]any{"cluster": "tempo"}), 200)
	if r.etag() != `"3"` {
		t.Errorf("version after restart %s, want \"3\"", r.etag())
	}
}

func TestAdminTokenIsNotPersisted(t *testing.T) {
	dir := t.TempDir()
	s1, err := New(Options{AdminToken: "first", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_ = s1.Close()
	s2, err := New(Options{AdminToken: "second", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for tok, want := range map[string]int{"first": 401, "second": 200} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", api+"/tenants", nil)
		req.SetBasicAuth("", tok)
		s2.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("token %q: %d, want %d", tok, rec.Code, want)
		}
	}
}

func TestCorruptStateFileIsAnError(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":        "{\"format\":1,",
		"garbage":         "\x00\x01binary",
		"empty":           "",
		"wrong format":    `{"format":99}`,
		"unknown field":   `{"format":1,"surprise":true}`,
		"version zero":    `{"format":1,"tenants":[{"name":"abc","status":"active","version":0}]}`,
		"invalid name":    `{"format":1,"tenants":[{"name":"a/b","status":"active","version":1}]}`,
		"bad status":      `{"format":1,"tenants":[{"name":"abc","status":"weird","version":1}]}`,
		"duplicate":       `{"format":1,"tenants":[{"name":"abc","status":"active","version":1},{"name":"abc","status":"active","version":1}]}`,
		"token no digest": `{"format":1,"tokens":[{"name":"t","status":"active","version":1}]}`,
		"trailing data":   `{"format":1} {}`,
		"trailing ]":      `{"format":1}]`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := New(Options{AdminToken: "x", DataDir: dir})
			if err == nil {
				t.Fatal("New started on a corrupt state file")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			// The corrupt file is left for a human to inspect.
			if got, _ := os.ReadFile(path); string(got) != content {
				t.Error("corrupt state file was overwritten")
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "state.json")
		if err := os.Mkdir(path, 0o700); err != nil { // a directory can't be read as a file
			t.Fatal(err)
		}
		_, err := New(Options{AdminToken: "x", DataDir: dir})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("error %v does not name %s", err, path)
		}
	})
}

func TestNewCreatesDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := New(Options{AdminToken: "x", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		t.Fatalf("no state file written at start: %v", err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// A write the disk refuses must not be acknowledged, nor kept in memory.
func TestFailedPersistIsNotAcknowledged(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, func(o *Options) { o.DataDir = dir })
	e.mkTenant("team-a", "tempo")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	r := e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "team-b", "cluster": "tempo"}), 500)
	wantErrorBody(t, r)
	e.want(e.admin("GET", api+"/tenants/team-b", nil), 404)
	e.want(e.adminIfMatch("PUT", api+"/tenants/team-a", `"1"`, map[string]any{"cluster": "tempo", "display_name": "x"}), 500)
	if g := e.want(e.admin("GET", api+"/tenants/team-a", nil), 200); g.etag() != `"1"` || g.json(t)["display_name"] != "team-a" {
		t.Errorf("refused update kept in memory: ETag %s %s", g.etag(), g.body)
	}
}
