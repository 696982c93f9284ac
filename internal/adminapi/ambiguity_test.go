package adminapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

const tokensPath = "/admin/api/v3/tokens"

func createPolicyW(t *testing.T, c *adminapi.Client) {
	t.Helper()
	if _, err := c.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "w", Scopes: []string{"traces:write"},
		Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "tempo"}}}); err != nil {
		t.Fatal(err)
	}
}

// A 409 after a definite answer (503, 429: the server did nothing) is
// someone else's object under the name, even when its fields match: it must
// not be adopted as the one this call created.
func TestNameTakenAfterDefiniteAnswerIsNotOurs(t *testing.T) {
	for _, fault := range []emulator.Fault{{Status: 503, RetryAfter: "0"}, {Status: 429, RetryAfter: "0"}} {
		emu, srv := startEmulator(t)
		c := newClient(t, srv.URL)
		want := adminapi.Tenant{Name: "team-a", DisplayName: "Team A", Cluster: "tempo"}
		if _, err := c.CreateTenant(ctx, want); err != nil {
			t.Fatal(err)
		}
		fault.Method, fault.Path = "POST", tenantsPath
		emu.InjectFault(fault)
		if _, err := c.CreateTenant(ctx, want); !errors.Is(err, adminapi.ErrNameTaken) {
			t.Errorf("%d then 409: err = %v, want ErrNameTaken", fault.Status, err)
		}
	}
}

// The same for a token: after a definite answer, a 409 is a name taken by
// someone else's token, which must be left alone, not revoked.
func TestTokenNameTakenAfterDefiniteAnswerIsLeftAlone(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	createPolicyW(t, c)
	if _, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"}); err != nil {
		t.Fatal(err)
	}
	emu.Reset()
	emu.InjectFault(emulator.Fault{Method: "POST", Path: tokensPath, Status: 503, RetryAfter: "0"})
	_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	if !errors.Is(err, adminapi.ErrNameTaken) || errors.Is(err, adminapi.ErrSecretLost) {
		t.Fatalf("err = %v, want ErrNameTaken and not ErrSecretLost", err)
	}
	if got, _ := c.GetToken(ctx, "otel"); got.Status != adminapi.StatusActive {
		t.Fatalf("someone else's token was touched: %+v", got)
	}
	if n := emu.Counts()["DELETE "+tokensPath+"/otel"]; n != 0 {
		t.Fatalf("%d revocations of someone else's token", n)
	}
}

// assertOrphanRevoked checks that a token create that ended ambiguously
// left no working token behind, and said so.
func assertOrphanRevoked(t *testing.T, c *adminapi.Client, err error) {
	t.Helper()
	if !errors.Is(err, adminapi.ErrSecretLost) || !errors.Is(err, adminapi.ErrOrphanRevoked) {
		t.Fatalf("err = %v, want ErrSecretLost and ErrOrphanRevoked", err)
	}
	for _, want := range []string{`token "otel"`, "created", "secret", "lost", "revoked", "new name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	got, gerr := c.GetToken(ctx, "otel")
	if gerr != nil || got.Status != adminapi.StatusInactive {
		t.Fatalf("the orphaned token is %+v, %v; want it revoked", got, gerr)
	}
}

// Committed, response lost, retried into a 409: the token this call made is
// revoked, since nobody holds its secret.
func TestLostTokenResponseThenNameTakenRevokes(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	createPolicyW(t, c)
	emu.InjectFault(emulator.Fault{Method: "POST", Path: tokensPath, CommitThenDrop: true})
	_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	assertOrphanRevoked(t, c, err)
}

// Committed, response lost, no retry: the same.
func TestLostTokenResponseWithRetriesOffRevokes(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL, func(c *adminapi.Config) { c.MaxRetries = -1 })
	createPolicyW(t, c)
	emu.InjectFault(emulator.Fault{Method: "POST", Path: tokensPath, CommitThenDrop: true})
	_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	assertOrphanRevoked(t, c, err)
}

// Committed, then the caller cancelled (an interrupted apply): the clean-up
// still runs, on a context of its own.
func TestCancelledTokenCreateRevokes(t *testing.T) {
	emu, _ := startEmulator(t)
	opCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == tokensPath && opCtx.Err() == nil {
			emu.ServeHTTP(httptest.NewRecorder(), r) // committed
			cancel()
			<-r.Context().Done()
			return
		}
		emu.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	createPolicyW(t, c)
	_, err := c.CreateToken(opCtx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	assertOrphanRevoked(t, c, err)
}

// Every attempt lost, nothing committed: the reads find no token (read
// again a few times, since a replica may lag behind the leader), and the
// original error stands, saying what to do if the token shows up later.
func TestLostTokenResponsesWithoutCommitKeepTheError(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL, func(c *adminapi.Config) { c.MaxRetries = 1 })
	createPolicyW(t, c)
	emu.InjectFault(emulator.Fault{Method: "POST", Path: tokensPath, Drop: true, Times: -1})
	_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	if !errors.Is(err, adminapi.ErrConnection) || errors.Is(err, adminapi.ErrSecretLost) {
		t.Fatalf("err = %v, want the connection error", err)
	}
	if n := emu.Counts()["GET "+tokensPath+"/otel"]; n != 6 {
		t.Fatalf("%d reads of the token, want 6 (one, then five after 0.1 to 1.6 s)", n)
	}
	if !strings.Contains(err.Error(), "if it shows up later") {
		t.Errorf("the error does not say what to do if the token appears later: %v", err)
	}
}

// When the revocation fails, the error says a live token is left and how
// to revoke it.
func TestOrphanRevokeFailureNamesTheLiveToken(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	createPolicyW(t, c)
	emu.InjectFault(emulator.Fault{Method: "POST", Path: tokensPath, CommitThenDrop: true})
	emu.InjectFault(emulator.Fault{Method: "DELETE", Path: tokensPath + "/otel", Status: 403, Times: -1})
	_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	if !errors.Is(err, adminapi.ErrSecretLost) || errors.Is(err, adminapi.ErrOrphanRevoked) {
		t.Fatalf("err = %v, want ErrSecretLost without ErrOrphanRevoked", err)
	}
	for _, want := range []string{`"otel"`, "live", "must be revoked", "DELETE", "/admin/api/v3/tokens/otel"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A token found under the name that is not what was asked for is someone
// else's: it is not revoked.
func TestOrphanCheckLeavesAnotherTokenAlone(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL)
	createPolicyW(t, c)
	if _, err := c.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "r", Scopes: []string{"traces:read"},
		Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "tempo"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "r"}); err != nil {
		t.Fatal(err)
	}
	emu.InjectFault(emulator.Fault{Method: "POST", Path: tokensPath, Drop: true})
	_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	if !errors.Is(err, adminapi.ErrNameTaken) || errors.Is(err, adminapi.ErrOrphanRevoked) {
		t.Fatalf("err = %v, want ErrNameTaken", err)
	}
	if got, _ := c.GetToken(ctx, "otel"); got.Status != adminapi.StatusActive {
		t.Fatalf("another token under the name was revoked: %+v", got)
	}
}
