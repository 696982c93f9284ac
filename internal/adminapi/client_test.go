package adminapi_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

var ctx = context.Background()

func TestTenantLifecycle(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)

	created, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", DisplayName: "Team A", Cluster: "tempo"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Version != 1 || created.Status != adminapi.StatusActive || created.CreatedAt == "" {
		t.Fatalf("created = %+v, want version 1, active, created_at set", created)
	}
	if n := emu.Counts()["POST /admin/api/v3/tenants"]; n != 1 {
		t.Errorf("POST count = %d, want 1", n)
	}
	if len(emu.Counts()) != 1 {
		t.Errorf("create sent more than one request: %v", emu.Counts())
	}

	got, err := c.GetTenant(ctx, "team-a")
	if err != nil || got.DisplayName != "Team A" || got.Version != 1 {
		t.Fatalf("get = %+v, %v", got, err)
	}

	got.DisplayName = "Team A (traces)"
	upd, err := c.UpdateTenant(ctx, *got)
	if err != nil || upd.Version != 2 || upd.DisplayName != "Team A (traces)" {
		t.Fatalf("update = %+v, %v", upd, err)
	}

	list, err := c.ListTenants(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(list, func(x adminapi.Tenant) bool { return x.Name == "team-a" }) {
		t.Fatalf("list = %+v, want team-a", list)
	}

	if err := c.DeleteTenant(ctx, "team-a", upd.Version); err != nil {
		t.Fatal(err)
	}
	after, err := c.GetTenant(ctx, "team-a")
	if err != nil || after.Status != adminapi.StatusInactive || after.Version != 3 {
		t.Fatalf("after delete = %+v, %v; want inactive at version 3", after, err)
	}
	active, _ := c.ListTenants(ctx, false)
	all, _ := c.ListTenants(ctx, true)
	if slices.ContainsFunc(active, func(x adminapi.Tenant) bool { return x.Name == "team-a" }) ||
		!slices.ContainsFunc(all, func(x adminapi.Tenant) bool { return x.Name == "team-a" }) {
		t.Fatalf("inactive tenant: active list %v, full list %v", active, all)
	}
	// Deleting again, with a version or without, is fine.
	if err := c.DeleteTenant(ctx, "team-a", 0); err != nil {
		t.Fatal(err)
	}
	// Re-activation is an update of status.
	after.Status = adminapi.StatusActive
	re, err := c.UpdateTenant(ctx, *after)
	if err != nil || re.Status != adminapi.StatusActive {
		t.Fatalf("re-activate = %+v, %v", re, err)
	}

	// An object that never existed: 404 on read, success on delete.
	if _, err := c.GetTenant(ctx, "nobody"); !errors.Is(err, adminapi.ErrNotFound) {
		t.Fatalf("get missing = %v, want ErrNotFound", err)
	}
	if err := c.DeleteTenant(ctx, "nobody", 0); err != nil {
		t.Fatalf("delete missing = %v, want nil", err)
	}
	if err := c.DeleteTenant(ctx, "nobody", 4); err != nil {
		t.Fatalf("delete missing with version = %v, want nil", err)
	}

	// Name taken, in any status, says so.
	_, err = c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"})
	if !errors.Is(err, adminapi.ErrNameTaken) || !strings.Contains(err.Error(), `"team-a"`) {
		t.Fatalf("create taken = %v", err)
	}
}

func TestAccessPolicyLifecycle(t *testing.T) {
	_, srv := startEmulator(t)
	c := newClient(t, srv.URL)

	want := adminapi.AccessPolicy{
		Name:        "team-a-rw",
		DisplayName: "Team A read/write",
		Scopes:      []string{"traces:write", "traces:read"},
		Realms: []adminapi.Realm{
			{Tenant: "team-b", Cluster: "tempo"},
			{Tenant: "team-a", Cluster: "tempo", LabelPolicies: []adminapi.LabelPolicy{{Selector: `{env="prod"}`}}},
		},
	}
	p, err := c.CreateAccessPolicy(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || !adminapi.PolicyMatches(want, *p) {
		t.Fatalf("created %+v does not match %+v", p, want)
	}
	got, err := c.GetAccessPolicy(ctx, "team-a-rw")
	if err != nil || !adminapi.PolicyMatches(want, *got) {
		t.Fatalf("get = %+v, %v", got, err)
	}

	got.Scopes = []string{"traces:read"}
	upd, err := c.UpdateAccessPolicy(ctx, *got)
	if err != nil || !slices.Equal(upd.Scopes, []string{"traces:read"}) || upd.Version != 2 {
		t.Fatalf("update = %+v, %v", upd, err)
	}
	list, err := c.ListAccessPolicies(ctx, false)
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if err := c.DeleteAccessPolicy(ctx, "team-a-rw", 0); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.ListAccessPolicies(ctx, false); len(list) != 0 {
		t.Fatalf("inactive policy still listed: %+v", list)
	}
	if list, _ := c.ListAccessPolicies(ctx, true); len(list) != 1 || list[0].Status != adminapi.StatusInactive {
		t.Fatalf("list with inactive = %+v", list)
	}
}

func TestPolicyMatchesIgnoresOrder(t *testing.T) {
	a := adminapi.AccessPolicy{Status: "active", Scopes: []string{"a:b", "c:d"}, Realms: []adminapi.Realm{
		{Tenant: "x", Cluster: "c", LabelPolicies: []adminapi.LabelPolicy{{Selector: "{a=\"1\"}"}, {Selector: "{b=\"2\"}"}}},
		{Tenant: "y", Cluster: "c"},
	}}
	b := adminapi.AccessPolicy{Status: "active", Scopes: []string{"c:d", "a:b"}, Realms: []adminapi.Realm{
		{Tenant: "y", Cluster: "c"},
		{Tenant: "x", Cluster: "c", LabelPolicies: []adminapi.LabelPolicy{{Selector: "{b=\"2\"}"}, {Selector: "{a=\"1\"}"}}},
	}}
	if !adminapi.PolicyMatches(a, b) {
		t.Fatal("order-only differences must match")
	}
	b.Scopes = []string{"a:b"}
	if adminapi.PolicyMatches(a, b) {
		t.Fatal("a missing scope must not match")
	}
}

func TestTokenLifecycle(t *testing.T) {
	_, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	if _, err := c.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "w", Scopes: []string{"traces:write"},
		Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "tempo"}}}); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	tok, err := c.CreateToken(ctx, adminapi.Token{Name: "otel-1", AccessPolicy: "w", Expiration: exp})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Secret == "" || tok.Version != 1 || tok.Expiration == "" {
		t.Fatalf("created token %#v: want a secret, version 1, expiration", tok)
	}
	got, err := c.GetToken(ctx, "otel-1")
	if err != nil || got.Secret != "" || got.AccessPolicy != "w" {
		t.Fatalf("get = %#v, %v: want metadata without secret", got, err)
	}
	list, err := c.ListTokens(ctx, false)
	if err != nil || len(list) != 1 || list[0].Secret != "" {
		t.Fatalf("list = %#v, %v", list, err)
	}
	if err := c.DeleteToken(ctx, "otel-1", got.Version); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetToken(ctx, "otel-1"); got.Status != adminapi.StatusInactive {
		t.Fatalf("revoked token status = %q", got.Status)
	}
	_, err = c.CreateToken(ctx, adminapi.Token{Name: "otel-1", AccessPolicy: "w"})
	if !errors.Is(err, adminapi.ErrNameTaken) {
		t.Fatalf("reusing a token name = %v, want ErrNameTaken", err)
	}
	_, err = c.CreateToken(ctx, adminapi.Token{Name: "otel-2", AccessPolicy: "missing"})
	var e *adminapi.Error
	if !errors.As(err, &e) || !errors.Is(err, adminapi.ErrValidation) || e.Field != "access_policy" {
		t.Fatalf("token for a missing policy = %v, want a validation error on access_policy", err)
	}
}

func TestClusters(t *testing.T) {
	_, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	list, err := c.ListClusters(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "tempo" {
		t.Fatalf("clusters = %+v, %v", list, err)
	}
	cl, err := c.GetCluster(ctx, "tempo")
	if err != nil || cl.Name != "tempo" {
		t.Fatalf("cluster = %+v, %v", cl, err)
	}
	if _, err := c.GetCluster(ctx, "other"); !errors.Is(err, adminapi.ErrNotFound) {
		t.Fatalf("unknown cluster = %v", err)
	}
}

func TestValidationErrorNamesFieldAndIsNotRetried(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	_, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-x", Cluster: "nowhere"})
	var e *adminapi.Error
	if !errors.As(err, &e) || !errors.Is(err, adminapi.ErrValidation) {
		t.Fatalf("err = %v, want validation error", err)
	}
	if e.Field != "cluster" || e.StatusCode != 400 || e.Message == "" {
		t.Fatalf("error = %+v, want field cluster, status 400 and the server's message", e)
	}
	if !strings.Contains(err.Error(), `create tenant "team-x"`) {
		t.Errorf("error %q does not name the operation and object", err)
	}
	if n := emu.Counts()["POST /admin/api/v3/tenants"]; n != 1 {
		t.Fatalf("a 400 was sent %d times, want 1", n)
	}
}

func TestAuthErrors(t *testing.T) {
	_, srv := startEmulator(t)
	bad := newClient(t, srv.URL, func(c *adminapi.Config) { c.Token = "not-the-admin-token" })
	_, err := bad.ListTenants(ctx, false)
	if !errors.Is(err, adminapi.ErrUnauthorized) {
		t.Fatalf("wrong token = %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), "not-the-admin-token") {
		t.Fatalf("error leaks the token: %v", err)
	}

	// A token whose policy has admin:read may read, not write.
	admin := newClient(t, srv.URL)
	if _, err := admin.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "ro", Scopes: []string{"admin:read"},
		Realms: []adminapi.Realm{{Tenant: "*", Cluster: "tempo"}}}); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.CreateToken(ctx, adminapi.Token{Name: "planner", AccessPolicy: "ro"})
	if err != nil {
		t.Fatal(err)
	}
	ro := newClient(t, srv.URL, func(c *adminapi.Config) { c.Token = tok.Secret.Reveal() })
	if _, err := ro.ListTenants(ctx, false); err != nil {
		t.Fatalf("admin:read list = %v", err)
	}
	_, err = ro.CreateTenant(ctx, adminapi.Tenant{Name: "team-z", Cluster: "tempo"})
	if !errors.Is(err, adminapi.ErrForbidden) || !strings.Contains(err.Error(), "admin:write") {
		t.Fatalf("admin:read create = %v, want ErrForbidden with a hint", err)
	}
}

func TestStatusMapsToKind(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL, func(c *adminapi.Config) { c.MaxRetries = -1 })
	for status, want := range map[int]error{
		400: adminapi.ErrValidation, 401: adminapi.ErrUnauthorized, 403: adminapi.ErrForbidden,
		404: adminapi.ErrNotFound, 405: adminapi.ErrMethodNotAllowed, 409: adminapi.ErrNameTaken,
		412: adminapi.ErrVersionConflict, 428: adminapi.ErrPreconditionRequired, 429: adminapi.ErrRateLimited,
		500: adminapi.ErrServer, 503: adminapi.ErrServer, 418: adminapi.ErrUnexpected,
	} {
		emu.InjectFault(emulator.Fault{Method: "GET", Path: "/admin/api/v3/tenants/team-a", Status: status})
		_, err := c.GetTenant(ctx, "team-a")
		var e *adminapi.Error
		if !errors.Is(err, want) || !errors.As(err, &e) || e.StatusCode != status || e.Message == "" {
			t.Errorf("status %d: err = %v, want %v with the status and a message", status, err, want)
		}
	}
}
