package adminapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

const tenantsPath = "/admin/api/v3/tenants"

// Each fault the server can throw at the client is survived, and the number
// of attempts the emulator saw is exactly one more than the faults injected.
func TestRetriesSurviveFaults(t *testing.T) {
	cases := []struct {
		name  string
		fault emulator.Fault
	}{
		{"429 with Retry-After", emulator.Fault{Status: 429, RetryAfter: "0"}},
		{"502", emulator.Fault{Status: 502}},
		{"503 fail-over", emulator.Fault{Status: 503, RetryAfter: "0"}},
		{"504", emulator.Fault{Status: 504}},
		{"dropped connection", emulator.Fault{Drop: true}},
		{"slow response past the timeout", emulator.Fault{Delay: 1500 * time.Millisecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu, srv := startEmulator(t)
			c := newClient(t, srv.URL, func(c *adminapi.Config) { c.Timeout = 500 * time.Millisecond })
			f := tc.fault
			f.Method, f.Path, f.Times = "GET", tenantsPath, 2
			emu.InjectFault(f)
			if _, err := c.ListTenants(ctx, false); err != nil {
				t.Fatalf("list after %s: %v", tc.name, err)
			}
			if n := emu.Counts()["GET "+tenantsPath]; n != 3 {
				t.Fatalf("attempts = %d, want 3 (two faults, one success)", n)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	emu.InjectFault(emulator.Fault{Method: "GET", Path: tenantsPath, Status: 429, RetryAfter: "1"})
	start := time.Now()
	if _, err := c.ListTenants(ctx, false); err != nil {
		t.Fatal(err)
	}
	// The configured back-off is milliseconds; only Retry-After explains a
	// wait of a second. (A lower bound only: a slow machine can't break it.)
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Fatalf("retried after %v, want about 1s as Retry-After asked", waited)
	}
	if n := emu.Counts()["GET "+tenantsPath]; n != 2 {
		t.Fatalf("attempts = %d, want 2", n)
	}
}

func TestRetryBudgetIsBounded(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL, func(c *adminapi.Config) { c.MaxRetries = 3 })
	emu.InjectFault(emulator.Fault{Method: "GET", Path: tenantsPath, Status: 503, Times: -1})
	_, err := c.ListTenants(ctx, false)
	if !errors.Is(err, adminapi.ErrServer) {
		t.Fatalf("err = %v, want ErrServer", err)
	}
	if n := emu.Counts()["GET "+tenantsPath]; n != 4 {
		t.Fatalf("attempts = %d, want 1 + 3 retries", n)
	}
}

func TestRetriesOff(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL, func(c *adminapi.Config) { c.MaxRetries = -1 })
	emu.InjectFault(emulator.Fault{Method: "GET", Path: tenantsPath, Status: 503})
	if _, err := c.ListTenants(ctx, false); !errors.Is(err, adminapi.ErrServer) {
		t.Fatalf("err = %v", err)
	}
	if n := emu.Counts()["GET "+tenantsPath]; n != 1 {
		t.Fatalf("attempts = %d, want 1", n)
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 412, 428, 500} {
		emu, srv := startEmulator(t)
		c := newClient(t, srv.URL)
		emu.InjectFault(emulator.Fault{Method: "GET", Path: tenantsPath, Status: status})
		if _, err := c.ListTenants(ctx, false); err == nil {
			t.Fatalf("status %d: no error", status)
		}
		if n := emu.Counts()["GET "+tenantsPath]; n != 1 {
			t.Errorf("status %d sent %d times, want 1", status, n)
		}
	}
}

// A tenant create whose response is lost after the server committed it is
// retried, finds its own tenant under the name, and converges to one tenant.
func TestLostCreateResponseTenantConverges(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	emu.InjectFault(emulator.Fault{Method: "POST", Path: tenantsPath, CommitThenDrop: true})
	got, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", DisplayName: "Team A", Cluster: "tempo"})
	if err != nil {
		t.Fatalf("create with lost response: %v", err)
	}
	if got.Name != "team-a" || got.Version != 1 {
		t.Fatalf("got %+v", got)
	}
	if n := emu.Counts()["POST "+tenantsPath]; n != 2 {
		t.Fatalf("POSTs = %d, want 2 (lost one, retried one)", n)
	}
	all, _ := c.ListTenants(ctx, true)
	n := 0
	for _, x := range all {
		if x.Name == "team-a" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d tenants named team-a, want 1", n)
	}
}

// The same situation with a different tenant under the name is not success.
func TestLostCreateResponseTenantMismatch(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	if _, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", DisplayName: "Someone else's", Cluster: "tempo"}); err != nil {
		t.Fatal(err)
	}
	emu.InjectFault(emulator.Fault{Method: "POST", Path: tenantsPath, Drop: true})
	_, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", DisplayName: "Team A", Cluster: "tempo"})
	if !errors.Is(err, adminapi.ErrNameTaken) {
		t.Fatalf("err = %v, want ErrNameTaken", err)
	}
}

func TestLostCreateResponsePolicyConverges(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	emu.InjectFault(emulator.Fault{Method: "POST", Path: "/admin/api/v3/accesspolicies", CommitThenDrop: true})
	p := adminapi.AccessPolicy{Name: "w", Scopes: []string{"traces:write", "traces:read"},
		Realms: []adminapi.Realm{{Tenant: "team-b", Cluster: "tempo"}, {Tenant: "team-a", Cluster: "tempo"}}}
	if _, err := c.CreateAccessPolicy(ctx, p); err != nil {
		t.Fatalf("create with lost response: %v", err)
	}
}

// A token create whose response is lost cannot be recovered: the secret was
// in that response. The error says so and what to do.
func TestLostCreateResponseTokenIsClearError(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	if _, err := c.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "w", Scopes: []string{"traces:write"},
		Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "tempo"}}}); err != nil {
		t.Fatal(err)
	}
	emu.InjectFault(emulator.Fault{Method: "POST", Path: "/admin/api/v3/tokens", CommitThenDrop: true})
	_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	if !errors.Is(err, adminapi.ErrSecretLost) {
		t.Fatalf("err = %v, want ErrSecretLost", err)
	}
	for _, want := range []string{`token "otel"`, "secret", "new name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// A concurrent change between read and update is re-read and re-applied
// once; a change that keeps happening is a clear error.
func TestConcurrentUpdate(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	mine, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"})
	if err != nil {
		t.Fatal(err)
	}
	theirs := *mine
	theirs.DisplayName = "changed elsewhere"
	if _, err := c.UpdateTenant(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	emu.Reset()
	mine.DisplayName = "mine"
	got, err := c.UpdateTenant(ctx, *mine) // still at version 1
	if err != nil || got.DisplayName != "mine" || got.Version != 3 {
		t.Fatalf("update on a stale version = %+v, %v", got, err)
	}
	counts := emu.Counts()
	if counts["PUT "+tenantsPath+"/team-a"] != 2 || counts["GET "+tenantsPath+"/team-a"] != 1 {
		t.Fatalf("requests = %v, want PUT (412), GET, PUT", counts)
	}

	emu.InjectFault(emulator.Fault{Method: "PUT", Path: tenantsPath + "/team-a", Status: 412, Times: -1})
	_, err = c.UpdateTenant(ctx, *got)
	if !errors.Is(err, adminapi.ErrVersionConflict) || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("persistent conflict = %v", err)
	}
}

// A run stopped while a request waits for its answer (the CLI's interrupt
// cancels the provider's calls) is reported as an interruption, not as an
// admin API that cannot be reached.
func TestInterruptIsNotUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	cctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := c.GetTenant(cctx, "team-a")
	if !errors.Is(err, adminapi.ErrInterrupted) || errors.Is(err, adminapi.ErrConnection) {
		t.Fatalf("err = %v, want an interruption", err)
	}
	if strings.Contains(err.Error(), "cannot reach") || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("the error reads %q", err)
	}
}
