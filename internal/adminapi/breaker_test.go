package adminapi_test

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

const retries = 2 // attempts per operation: retries + 1

// someOperations runs n operations of assorted kinds and returns their
// errors.
func someOperations(c *adminapi.Client, n int) []error {
	var errs []error
	for i := range n {
		var err error
		switch i % 4 {
		case 0:
			_, err = c.ListTenants(ctx, false)
		case 1:
			_, err = c.GetTenant(ctx, "team-a")
		case 2:
			_, err = c.CreateTenant(ctx, adminapi.Tenant{Name: "team-b", Cluster: "tempo"})
		case 3:
			err = c.DeleteToken(ctx, "otel", 1)
		}
		errs = append(errs, err)
	}
	return errs
}

func totalRequests(emu *emulator.Server) int {
	n := 0
	for _, v := range emu.Counts() {
		n += v
	}
	return n
}

// A dead admin API costs one operation's retry budget, once: after that,
// operations fail at once without sending, saying why.
func TestDeadAPIFailsFastOnceServerClosed(t *testing.T) {
	r := &countingResolver{addrs: map[string][]string{"admin.test": {"127.0.0.1"}}}
	url := "http://" + net.JoinHostPort("admin.test", closedPort(t))
	c := newClient(t, url, func(c *adminapi.Config) {
		c.Resolver = r
		c.MaxRetries = retries
		c.BreakerCooldown = time.Hour
	})
	_, first := c.ListTenants(ctx, false)
	if !errors.Is(first, adminapi.ErrConnection) || !strings.Contains(first.Error(), "unreachable") {
		t.Fatalf("first error = %v, want ErrConnection saying the admin API is unreachable", first)
	}
	if n := r.lookups(); n != retries+1 {
		t.Fatalf("first operation dialled %d times, want %d", n, retries+1)
	}
	for _, err := range someOperations(c, 12) {
		if !errors.Is(err, adminapi.ErrConnection) {
			t.Fatalf("err = %v, want ErrConnection", err)
		}
		for _, want := range []string{"not sent", "unreachable", url, "connection refused"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	}
	if n := r.lookups(); n != retries+1 {
		t.Fatalf("%d dials in all, want %d: later operations were sent", n, retries+1)
	}
}

func TestDeadAPIFailsFastOnceConnectionsDropped(t *testing.T) {
	emu, srv := startEmulator(t)
	emu.InjectFault(emulator.Fault{Path: "/admin/api/v3/*", Drop: true, Times: -1})
	c := newClient(t, srv.URL, func(c *adminapi.Config) {
		c.MaxRetries = retries
		c.BreakerCooldown = time.Hour
	})
	for _, err := range someOperations(c, 12) {
		if !errors.Is(err, adminapi.ErrConnection) {
			t.Fatalf("err = %v, want ErrConnection", err)
		}
	}
	if n := totalRequests(emu); n > retries+1 {
		t.Fatalf("12 operations sent %d requests, want at most %d", n, retries+1)
	}
}

// Operations already in flight when the API dies spend at most their own
// budget each; those that start later send nothing.
func TestDeadAPIConcurrentOperations(t *testing.T) {
	emu, srv := startEmulator(t)
	emu.InjectFault(emulator.Fault{Path: "/admin/api/v3/*", Drop: true, Times: -1})
	c := newClient(t, srv.URL, func(c *adminapi.Config) {
		c.MaxRetries = retries
		c.BreakerCooldown = time.Hour
	})
	const inFlight = 6
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := c.ListTenants(ctx, false); !errors.Is(err, adminapi.ErrConnection) {
				t.Errorf("err = %v, want ErrConnection", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	sent := totalRequests(emu)
	if sent > inFlight*(retries+1) {
		t.Fatalf("%d concurrent operations sent %d requests, want at most %d", inFlight, sent, inFlight*(retries+1))
	}
	var wg2 sync.WaitGroup
	for range 20 {
		wg2.Add(1)
		go func() { defer wg2.Done(); someOperations(c, 2) }()
	}
	wg2.Wait()
	if n := totalRequests(emu); n != sent {
		t.Fatalf("later operations sent %d more requests, want none", n-sent)
	}
}

// An answer, even 503 or 429 on every attempt, is not a dead API.
func TestAnswersDoNotTripTheBreaker(t *testing.T) {
	for _, status := range []int{503, 429, 500} {
		emu, srv := startEmulator(t)
		emu.InjectFault(emulator.Fault{Path: "/admin/api/v3/*", Status: status, RetryAfter: "0", Times: -1})
		c := newClient(t, srv.URL, func(c *adminapi.Config) {
			c.MaxRetries = retries
			c.BreakerCooldown = time.Hour
		})
		for range 3 {
			if _, err := c.ListTenants(ctx, false); errors.Is(err, adminapi.ErrConnection) {
				t.Fatalf("status %d: err = %v", status, err)
			}
		}
		per := retries + 1
		if status == 500 {
			per = 1 // not retried
		}
		if n := emu.Counts()["GET "+tenantsPath]; n != 3*per {
			t.Fatalf("status %d: %d requests, want %d: answers must not open the breaker", status, n, 3*per)
		}
	}
}

// After the cool-down one request goes through as a probe: failure keeps
// the breaker open (one request, not a budget), success closes it.
func TestBreakerProbe(t *testing.T) {
	emu, srv := startEmulator(t)
	emu.InjectFault(emulator.Fault{Path: "/admin/api/v3/*", Drop: true, Times: -1})
	c := newClient(t, srv.URL, func(c *adminapi.Config) {
		c.MaxRetries = retries
		c.BreakerCooldown = -1 // probe at once
	})
	if _, err := c.ListTenants(ctx, false); !errors.Is(err, adminapi.ErrConnection) {
		t.Fatal(err)
	}
	if n := totalRequests(emu); n != retries+1 {
		t.Fatalf("%d requests, want %d", n, retries+1)
	}
	for i := range 3 {
		if _, err := c.ListTenants(ctx, false); !errors.Is(err, adminapi.ErrConnection) {
			t.Fatal(err)
		}
		if n := totalRequests(emu); n != retries+1+i+1 {
			t.Fatalf("probe %d: %d requests in all, want %d (one per probe)", i+1, n, retries+1+i+1)
		}
	}
	emu.Reset() // the API is back
	if _, err := c.ListTenants(ctx, false); err != nil {
		t.Fatalf("probe against a live API: %v", err)
	}
	// Closed again: a dropped connection is retried as usual.
	emu.InjectFault(emulator.Fault{Method: "GET", Path: tenantsPath, Drop: true})
	if _, err := c.ListTenants(ctx, false); err != nil {
		t.Fatalf("after the breaker closed: %v", err)
	}
	if n := emu.Counts()["GET "+tenantsPath]; n != 3 {
		t.Fatalf("%d requests, want 3 (probe, dropped, retried)", n)
	}
}

// The breaker opened by a lost token create does not stop the clean-up
// that revokes the orphaned token.
func TestOrphanRevokeGoesThroughTheBreaker(t *testing.T) {
	emu, srv := startEmulator(t)
	c := newClient(t, srv.URL, func(c *adminapi.Config) {
		c.MaxRetries = -1
		c.BreakerCooldown = time.Hour
	})
	createPolicyW(t, c)
	emu.InjectFault(emulator.Fault{Method: "POST", Path: tokensPath, CommitThenDrop: true})
	_, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	assertOrphanRevoked(t, c, err)
}
