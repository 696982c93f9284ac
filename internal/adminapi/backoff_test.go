package adminapi

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{now.Add(time.Hour).Format(http.TimeFormat), maxRetryAfter, true},
		{" 3 ", 3 * time.Second, true},
		{"\t5", 5 * time.Second, true},
		{"+5", 0, false},
		{"3.5", 0, false},
		{"-9999999999", 0, false},
		{"9999999999", maxRetryAfter, true},
		{"99999999999999999999999", maxRetryAfter, true},
		{"3600", maxRetryAfter, true},
		{"Fri, 99 Foo 2026 00:00:00 GMT", 0, false},
	} {
		got, ok := retryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// A Retry-After too large for time.Duration once multiplied must not wrap
// into a negative wait (which would retry at once, hammering the server).
func TestBackoffHugeRetryAfter(t *testing.T) {
	for _, v := range []string{"9999999999", "9223372036", "99999999999999999999999"} {
		resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {v}}}
		if d := backoff(time.Millisecond, time.Second, 0, resp); d != maxRetryAfter {
			t.Errorf("Retry-After %s gives %v, want the cap %v", v, d, maxRetryAfter)
		}
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	seen := map[time.Duration]bool{}
	for attempt := range 40 {
		for range 20 {
			d := backoff(lo, hi, attempt, nil)
			if d < lo || d > hi {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, lo, hi)
			}
			seen[d] = true
		}
	}
	if len(seen) < 10 {
		t.Fatalf("backoff is not jittered: %d distinct values", len(seen))
	}
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"3600"}}}
	if d := backoff(lo, hi, 0, resp); d != maxRetryAfter {
		t.Fatalf("a huge Retry-After gives %v, want the cap %v", d, maxRetryAfter)
	}
	resp.Header.Set("Retry-After", "2")
	if d := backoff(lo, hi, 0, resp); d < 2*time.Second || d > 3*time.Second {
		t.Fatalf("Retry-After 2 gives %v", d)
	}
	// "Now" is spread over no more than the client's own shortest wait.
	resp.Header.Set("Retry-After", "0")
	for range 20 {
		if d := backoff(lo, hi, 0, resp); d < 0 || d > lo {
			t.Fatalf("Retry-After 0 gives %v, want at most %v", d, lo)
		}
	}
}

// A refusal with Retry-After is waited out in full, even when it asks for
// more than the client's own RetryWaitMax, and the retries of requests
// refused together are spread over the second after it rather than sent
// at one instant: a rate limiter with a short burst that refuses a herd
// at once would refuse all but a burst of it again at that instant, and
// again, until the retry budget is spent.
func TestBackoffSpreadsRetriesAfterRetryAfter(t *testing.T) {
	lo, hi := time.Millisecond, 5*time.Millisecond // far below Retry-After
	now := time.Now()
	for _, tc := range []struct {
		status     int
		retryAfter string
		atLeast    time.Duration
	}{
		{429, "1", time.Second},
		{429, "3", 3 * time.Second},
		{503, "2", 2 * time.Second},
		{429, now.Add(time.Hour).UTC().Format(http.TimeFormat), maxRetryAfter},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Retry-After": {tc.retryAfter}}}
		const n = 500
		waits := map[time.Duration]bool{}
		first, last := maxRetryAfter+time.Hour, time.Duration(0)
		for range n {
			d := backoff(lo, hi, 0, resp)
			if d < tc.atLeast {
				t.Fatalf("%d Retry-After %s: waited %v, less than asked", tc.status, tc.retryAfter, d)
			}
			if d > tc.atLeast+time.Second || d > maxRetryAfter {
				t.Fatalf("%d Retry-After %s: waited %v, more than a second beyond it or past the cap", tc.status, tc.retryAfter, d)
			}
			waits[d] = true
			first, last = min(first, d), max(last, d)
		}
		if tc.atLeast == maxRetryAfter {
			continue // at the cap there is no room to spread
		}
		// 500 uniform draws over a second: the chance that they span less
		// than half of it is 2^-499.
		if len(waits) < n/2 || last-first < 500*time.Millisecond {
			t.Errorf("%d Retry-After %s: %d distinct waits from %v to %v: retries would arrive together",
				tc.status, tc.retryAfter, len(waits), first, last)
		}
	}
}
