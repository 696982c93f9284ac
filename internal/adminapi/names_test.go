package adminapi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// A name the contract forbids is refused before anything is sent, with a
// validation error naming the field; dot-segments in particular must never
// reach the server as /tokens/.. (which a proxy would resolve elsewhere).
func TestInvalidNamesAreNotSent(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	long := strings.Repeat("a", 129)
	ops := map[string]func(string) error{
		"get tenant": func(n string) error { _, err := c.GetTenant(ctx, n); return err },
		"create tenant": func(n string) error {
			_, err := c.CreateTenant(ctx, adminapi.Tenant{Name: n, Cluster: "tempo"})
			return err
		},
		"update tenant": func(n string) error {
			_, err := c.UpdateTenant(ctx, adminapi.Tenant{Name: n, Cluster: "tempo", Version: 1})
			return err
		},
		"delete tenant": func(n string) error { return c.DeleteTenant(ctx, n, 1) },
		"get policy":    func(n string) error { _, err := c.GetAccessPolicy(ctx, n); return err },
		"create policy": func(n string) error {
			_, err := c.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: n, Scopes: []string{"traces:read"},
				Realms: []adminapi.Realm{{Tenant: "*", Cluster: "tempo"}}})
			return err
		},
		"update policy": func(n string) error {
			_, err := c.UpdateAccessPolicy(ctx, adminapi.AccessPolicy{Name: n, Version: 1})
			return err
		},
		"delete policy": func(n string) error { return c.DeleteAccessPolicy(ctx, n, 0) },
		"get token":     func(n string) error { _, err := c.GetToken(ctx, n); return err },
		"create token": func(n string) error {
			_, err := c.CreateToken(ctx, adminapi.Token{Name: n, AccessPolicy: "w"})
			return err
		},
		"delete token": func(n string) error { return c.DeleteToken(ctx, n, 1) },
	}
	for op, call := range ops {
		bad := []string{"", ".", "..", "a/b", "UPPER", "sp ace", "a%2e", long}
		if strings.HasSuffix(op, "tenant") {
			bad = append(bad, "ab", strings.Repeat("a", 65))
		}
		for _, name := range bad {
			err := call(name)
			var e *adminapi.Error
			if !errors.Is(err, adminapi.ErrValidation) || !errors.As(err, &e) || e.Field != "name" {
				t.Errorf("%s %q: err = %v, want a validation error on the field name", op, name, err)
			}
		}
	}
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, err := c.GetCluster(ctx, name); !errors.Is(err, adminapi.ErrValidation) {
			t.Errorf("get cluster %q: err = %v, want a validation error", name, err)
		}
	}
	if n := len(emu.Counts()); n != 0 {
		t.Fatalf("invalid names reached the server: %v", emu.Counts())
	}
}

func TestNameValidators(t *testing.T) {
	for _, tc := range []struct {
		check func(string) error
		name  string
		ok    bool
	}{
		{adminapi.ValidTenantName, "team-a", true},
		{adminapi.ValidTenantName, "__system__", true},
		{adminapi.ValidTenantName, "ab", false},
		{adminapi.ValidTenantName, strings.Repeat("a", 64), true},
		{adminapi.ValidTenantName, strings.Repeat("a", 65), false},
		{adminapi.ValidTenantName, "Team", false},
		{adminapi.ValidTenantName, "tëam", false},
		{adminapi.ValidObjectName, "w", true},
		{adminapi.ValidObjectName, strings.Repeat("a", 128), true},
		{adminapi.ValidObjectName, strings.Repeat("a", 129), false},
		{adminapi.ValidObjectName, "", false},
		{adminapi.ValidObjectName, "..", false},
		{adminapi.ValidClusterName, "tempo", true},
		{adminapi.ValidClusterName, "my cluster", true},
		{adminapi.ValidClusterName, "..", false},
		{adminapi.ValidClusterName, "a/b", false},
		{adminapi.ValidClusterName, "", false},
	} {
		if err := tc.check(tc.name); (err == nil) != tc.ok {
			t.Errorf("check(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// pathRecorder keeps the request-target of every request as it was sent.
type pathRecorder struct {
	next http.Handler
	mu   sync.Mutex
	uris []string
}

func (p *pathRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.uris = append(p.uris, r.RequestURI)
	p.mu.Unlock()
	p.next.ServeHTTP(w, r)
}

// A name is escaped exactly once on the wire, and the base URL's own path
// is kept.
func TestNamesAreEscapedOnce(t *testing.T) {
	emu, _ := startEmulator(t)
	rec := &pathRecorder{next: http.StripPrefix("/gw%20x", emu)}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c := newClient(t, srv.URL+"/gw%20x")
	_, _ = c.GetCluster(ctx, "my cluster")
	_, _ = c.GetTenant(ctx, "team-a")
	want := []string{"/gw%20x/admin/api/v3/clusters/my%20cluster", "/gw%20x/admin/api/v3/tenants/team-a"}
	if strings.Join(rec.uris, " ") != strings.Join(want, " ") {
		t.Fatalf("request targets = %q, want %q", rec.uris, want)
	}
}
