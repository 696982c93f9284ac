package adminapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

const adminToken = "admin-token-for-tests-0123456789"

// startEmulator serves a fresh emulator on loopback.
func startEmulator(t *testing.T) (*emulator.Server, *httptest.Server) {
	t.Helper()
	emu, err := emulator.New(emulator.Options{AdminToken: adminToken, Clusters: []string{"tempo"}, Control: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	return emu, srv
}

// newClient builds a client for url with fast retries; mod adjusts the
// configuration.
func newClient(t *testing.T, url string, mod ...func(*adminapi.Config)) *adminapi.Client {
	t.Helper()
	cfg := adminapi.Config{
		URL:          url,
		Token:        adminToken,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
		Timeout:      5 * time.Second,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := adminapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// staticResolver answers every name from a map, so no lookup leaves the
// machine.
type staticResolver map[string]string

func (r staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := r[host]
	if !ok {
		return nil, &notFoundError{host}
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

type notFoundError struct{ host string }

func (e *notFoundError) Error() string { return "no such host " + e.host }

// headerRecorder wraps a handler and keeps the last request's headers.
type headerRecorder struct {
	next http.Handler
	last http.Header
}

func (h *headerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.last = r.Header.Clone()
	h.next.ServeHTTP(w, r)
}

// countingResolver answers from a map of name to addresses and counts the
// lookups, which stand for dials: the client resolves once per dial.
type countingResolver struct {
	addrs map[string][]string
	mu    sync.Mutex
	n     int
}

func (r *countingResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	as, ok := r.addrs[host]
	if !ok {
		return nil, &notFoundError{host}
	}
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func (r *countingResolver) lookups() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	p := port(t, srv.URL)
	srv.Close()
	return p
}
