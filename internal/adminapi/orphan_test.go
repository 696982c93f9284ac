package adminapi_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

// rewriting serves emu, passing each response of a request that match
// selects through edit first.
func rewriting(t *testing.T, emu *emulator.Server, match func(*http.Request) bool, edit func([]byte) []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !match(r) {
			emu.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = io.Copy(w, bytes.NewReader(edit(rec.Body.Bytes())))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func isTokenCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == tokensPath
}

// A create the server answers with success but without a usable secret
// (no token field, or a body that is not JSON) leaves a live token nobody
// holds: it is revoked like one whose answer was lost.
func TestTokenCreatedWithoutUsableSecretIsRevoked(t *testing.T) {
	edits := map[string]func([]byte) []byte{
		"no token field": func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"token":"`), []byte(`"token_was":"`), 1)
		},
		"not JSON": func([]byte) []byte { return []byte("<html>ok</html>") },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			emu, _ := startEmulator(t)
			srv := rewriting(t, emu, isTokenCreate, edit)
			c := newClient(t, srv.URL)
			createPolicyW(t, c)
			_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
			assertOrphanRevoked(t, c, err)
		})
	}
}

// Only inactive means revoked: a lost create whose token reads back in a
// status the client does not know is still revoked.
func TestLostTokenInUnknownStatusIsRevoked(t *testing.T) {
	emu, _ := startEmulator(t)
	srv := rewriting(t, emu, func(r *http.Request) bool {
		return r.Method == http.MethodGet && r.URL.Path == tokensPath+"/otel"
	}, func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"status":"active"`), []byte(`"status":"unknown"`), 1)
	})
	c := newClient(t, srv.URL)
	createPolicyW(t, c)
	emu.InjectFault(emulator.Fault{Method: http.MethodPost, Path: tokensPath, CommitThenDrop: true})
	_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	if !errors.Is(err, adminapi.ErrOrphanRevoked) {
		t.Fatalf("err = %v, want the token revoked", err)
	}
	if n := emu.Counts()["DELETE "+tokensPath+"/otel"]; n != 1 {
		t.Fatalf("%d revocations, want 1", n)
	}
}

// A token under the name that existed long before this create began is
// someone else's, even when its fields match: it is never revoked.
func TestLostCreateLeavesOlderTokenAlone(t *testing.T) {
	emu, _ := startEmulator(t)
	c := newClient(t, emu2URL(t, emu))
	createPolicyW(t, c)
	if _, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"}); err != nil {
		t.Fatal(err)
	}
	// The client's clock runs an hour ahead of when that token was made.
	emu.Reset()
	emu.InjectFault(emulator.Fault{Method: http.MethodPost, Path: tokensPath, Drop: true})
	_, err := newClient(t, emu2URL(t, emu), func(cfg *adminapi.Config) {
		cfg.MaxRetries = 1
		cfg.Now = func() time.Time { return time.Now().Add(time.Hour) }
	}).CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	if err == nil || errors.Is(err, adminapi.ErrOrphanRevoked) {
		t.Fatalf("err = %v; want a failure that revokes nothing", err)
	}
	if got, _ := c.GetToken(ctx, "otel"); got.Status != adminapi.StatusActive {
		t.Fatalf("someone else's older token was revoked: %+v", got)
	}
	if !strings.Contains(err.Error(), "otel") {
		t.Errorf("error %q does not name the token", err)
	}
}

func emu2URL(t *testing.T, emu *emulator.Server) string {
	t.Helper()
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return srv.URL
}

// A create whose answer was lost, then a read of the token from a replica
// that has not caught up yet (404), must not conclude that nothing was
// committed: the token is read again, found, and revoked.
func TestLostCreateThenLaggingReplicaStillRevokes(t *testing.T) {
	emu, _ := startEmulator(t)
	var reads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case isTokenCreate(r):
			// Committed, and the answer lost on the way back.
			emu.ServeHTTP(httptest.NewRecorder(), r)
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("cannot drop the connection")
				return
			}
			conn, _, _ := hj.Hijack()
			_ = conn.Close()
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, tokensPath+"/") && reads.Add(1) <= 2:
			// A replica that has not seen the create yet.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"token not found"}`)
		default:
			emu.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, func(c *adminapi.Config) { c.MaxRetries = -1 })
	createPolicyW(t, c)
	_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	assertOrphanRevoked(t, c, err)
}
