package adminapi_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

func startCompatEmulator(t *testing.T, variants string) (*emulator.Server, *httptest.Server) {
	t.Helper()
	compat, err := emulator.ParseCompat(variants)
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(emulator.Options{AdminToken: adminToken, Clusters: []string{"tempo"}, Control: true, Compat: compat})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	return emu, srv
}

// Every operation works whichever way the server answers where the
// contract leaves the choice open: each variant alone, and all together.
func TestServerVariants(t *testing.T) {
	for _, variants := range append(emulator.CompatVariants(), "all") {
		t.Run(variants, func(t *testing.T) {
			_, srv := startCompatEmulator(t, variants)
			c := newClient(t, srv.URL)

			tn, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"})
			if err != nil || tn.Version != 1 {
				t.Fatalf("create tenant = %+v, %v", tn, err)
			}
			stale := *tn
			tn.DisplayName = "Team A"
			if tn, err = c.UpdateTenant(ctx, *tn); err != nil || tn.Version != 2 {
				t.Fatalf("update tenant = %+v, %v", tn, err)
			}
			// A stale version: re-read and re-applied once.
			stale.DisplayName = "mine"
			if tn, err = c.UpdateTenant(ctx, stale); err != nil || tn.DisplayName != "mine" {
				t.Fatalf("update on a stale version = %+v, %v", tn, err)
			}
			// A stale version on delete: re-read and deleted.
			if err := c.DeleteTenant(ctx, "team-a", 1); err != nil {
				t.Fatalf("delete on a stale version: %v", err)
			}
			if got, err := c.GetTenant(ctx, "team-a"); err != nil || got.Status != adminapi.StatusInactive {
				t.Fatalf("after delete = %+v, %v", got, err)
			}

			p := adminapi.AccessPolicy{Name: "w", Scopes: []string{"traces:write"},
				Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "tempo"}}}
			got, err := c.CreateAccessPolicy(ctx, p)
			if err != nil || got.Version != 1 || !adminapi.PolicyMatches(p, *got) {
				t.Fatalf("create policy = %+v, %v", got, err)
			}
			tok, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
			if err != nil || tok.Secret == "" || tok.Version != 1 {
				t.Fatalf("create token = %#v, %v", tok, err)
			}
			if err := c.DeleteToken(ctx, "otel", 0); err != nil {
				t.Fatalf("delete token: %v", err)
			}
			if err := c.DeleteAccessPolicy(ctx, "w", got.Version); err != nil {
				t.Fatalf("delete policy: %v", err)
			}

			// Errors, JSON or text, keep their kind, message and field.
			_, err = c.CreateTenant(ctx, adminapi.Tenant{Name: "team-b", Cluster: "nowhere"})
			var e *adminapi.Error
			if !errors.As(err, &e) || !errors.Is(err, adminapi.ErrValidation) || e.Field != "cluster" || !strings.Contains(e.Message, "nowhere") {
				t.Fatalf("validation error = %#v", err)
			}
			if _, err := c.GetTenant(ctx, "nobody"); !errors.Is(err, adminapi.ErrNotFound) {
				t.Fatalf("missing tenant = %v", err)
			}
			if _, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"}); !errors.Is(err, adminapi.ErrNameTaken) {
				t.Fatalf("taken name = %v", err)
			}
		})
	}
}

// A delete whose version keeps going stale is a clear error, with 409 as
// with 412.
func TestDeleteKeepsConflicting(t *testing.T) {
	for _, status := range []int{409, 412} {
		emu, srv := startEmulator(t)
		c := newClient(t, srv.URL)
		if _, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"}); err != nil {
			t.Fatal(err)
		}
		emu.InjectFault(emulator.Fault{Method: "DELETE", Path: tenantsPath + "/team-a", Status: status, Times: -1})
		err := c.DeleteTenant(ctx, "team-a", 1)
		if !strings.Contains(err.Error(), "another process") {
			t.Errorf("status %d: err = %v, want a clear concurrent-change error", status, err)
		}
		if n := emu.Counts()["DELETE "+tenantsPath+"/team-a"]; n != 2 {
			t.Errorf("status %d: %d deletes, want 2 (one re-read in between)", status, n)
		}
	}
}
