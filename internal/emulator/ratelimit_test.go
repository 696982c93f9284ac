package emulator

import (
	"maps"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

func withRateLimit(perSecond float64, burst int) func(*Options) {
	return func(o *Options) { o.RateLimit, o.RateBurst = perSecond, burst }
}

// wantRefused checks a rate-limit refusal and its Retry-After.
func wantRefused(t *testing.T, r resp, retryAfter string) {
	t.Helper()
	if r.err != nil || r.status != 429 {
		t.Fatalf("status %d (%v), want 429; body %s", r.status, r.err, r.body)
	}
	if got := r.header.Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After %q, want %q", got, retryAfter)
	}
	if m := wantErrorBody(t, r); !strings.Contains(m["error"].(string), "rate limit") {
		t.Errorf("body %s", r.body)
	}
}

// The clock of these tests stands still unless advanced, so the bucket
// refills only when a test says so.
func TestRateLimitBurstAndRefill(t *testing.T) {
	e := newEnv(t, withRateLimit(2, 3))
	for i := 0; i < 3; i++ {
		e.want(e.admin("GET", api+"/tenants", nil), 200)
	}
	// A refused create is not carried out.
	wantRefused(t, e.admin("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}), "1")
	e.srv.Advance(500 * time.Millisecond) // one token at 2/s
	e.want(e.admin("GET", api+"/tenants/team-a", nil), 404)
	wantRefused(t, e.admin("GET", api+"/tenants", nil), "1")

	// A long pause fills the bucket up to the burst, no further.
	e.srv.Advance(time.Hour)
	for i := 0; i < 3; i++ {
		e.want(e.admin("GET", api+"/clusters", nil), 200)
	}
	wantRefused(t, e.admin("GET", api+"/clusters", nil), "1")
}

// Retry-After is the time until a token is there, rounded up to whole
// seconds and never 0, which would invite an immediate retry.
func TestRateLimitRetryAfterFromTheBucket(t *testing.T) {
	e := newEnv(t, withRateLimit(0.25, 1)) // one token every 4 s
	e.want(e.admin("GET", api+"/tenants", nil), 200)
	wantRefused(t, e.admin("GET", api+"/tenants", nil), "4")
	e.srv.Advance(time.Second)
	wantRefused(t, e.admin("GET", api+"/tenants", nil), "3")
	e.srv.Advance(2500 * time.Millisecond) // half a second to go
	wantRefused(t, e.admin("GET", api+"/tenants", nil), "1")
	e.srv.Advance(500 * time.Millisecond)
	e.want(e.admin("GET", api+"/tenants", nil), 200)
}

// Refused requests take no token: a client that waits what it is told gets
// through, however many others were refused meanwhile.
func TestRateLimitRefusalsTakeNoToken(t *testing.T) {
	e := newEnv(t, withRateLimit(1, 1))
	e.want(e.admin("GET", api+"/tenants", nil), 200)
	for i := 0; i < 20; i++ {
		wantRefused(t, e.admin("GET", api+"/tenants", nil), "1")
	}
	e.srv.Advance(time.Second)
	e.want(e.admin("GET", api+"/tenants", nil), 200)
}

// Only authorized admin API requests are limited: a stray request without
// the right credential uses up no share, and the data path and the control
// surface are never refused.
func TestRateLimitScope(t *testing.T) {
	e := newEnv(t, withRateLimit(1, 1))
	noAuth := map[string]string{"Authorization": ""}
	for i := 0; i < 5; i++ {
		e.want(e.call("GET", api+"/tenants", nil, noAuth), 401)
		e.want(e.data("GET", "/api/search", "team-a", "wrong"), 401)
		e.want(e.call("GET", "/_emulator/counts", nil, noAuth), 200)
	}
	e.want(e.admin("GET", api+"/tenants", nil), 200)
	wantRefused(t, e.admin("GET", api+"/tenants", nil), "1")
}

// A refused request reaches no fault: the fault stays for the request
// that gets through.
func TestRateLimitBeforeFaults(t *testing.T) {
	e := newEnv(t, withRateLimit(1, 1))
	e.want(e.admin("GET", api+"/tenants", nil), 200)
	e.srv.InjectFault(Fault{Path: api + "/tenants", Status: 503})
	wantRefused(t, e.admin("GET", api+"/tenants", nil), "1")
	e.srv.Advance(time.Second)
	e.want(e.admin("GET", api+"/tenants", nil), 503)
}

// Concurrent requests share one bucket: with the clock standing still,
// exactly the burst gets through, and every answer is counted by status.
func TestRateLimitConcurrent(t *testing.T) {
	e := newEnv(t, withRateLimit(1, 5))
	const n = 40
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() { statuses[i] = e.admin("GET", api+"/clusters", nil).status })
	}
	wg.Wait()
	got := map[int]int{}
	for _, s := range statuses {
		got[s]++
	}
	if want := map[int]int{200: 5, 429: n - 5}; !maps.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if got, want := e.srv.StatusCounts(), map[string]int{"200": 5, "429": n - 5}; !maps.Equal(got, want) {
		t.Errorf("StatusCounts() = %v, want %v", got, want)
	}
}

func TestRateLimitDefaultBurst(t *testing.T) {
	for rate, want := range map[float64]int{0.1: 1, 1: 1, 10: 1, 15: 2, 200: 20, 1000: 100} {
		if got := defaultBurst(rate); got != want {
			t.Errorf("defaultBurst(%v) = %d, want %d", rate, got, want)
		}
	}
	e := newEnv(t, withRateLimit(30, 0))
	for i := 0; i < 3; i++ {
		e.want(e.admin("GET", api+"/clusters", nil), 200)
	}
	wantRefused(t, e.admin("GET", api+"/clusters", nil), "1")
}

func TestRateLimitOptionsChecked(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		burst int
	}{
		{-1, 0}, {math.NaN(), 0}, {math.Inf(1), 0}, {math.Inf(-1), 5}, {10, -1}, {0, 5},
	} {
		if _, err := New(Options{AdminToken: testAdminToken, RateLimit: tc.rate, RateBurst: tc.burst}); err == nil {
			t.Errorf("rate %v burst %d accepted", tc.rate, tc.burst)
		}
	}
	// Without a rate limit nothing is refused.
	e := newEnv(t)
	for i := 0; i < 50; i++ {
		e.want(e.admin("GET", api+"/clusters", nil), 200)
	}
}
