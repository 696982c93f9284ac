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
	if d := backoff(lo, hi, 0, resp); d != 2*time.Second {
		t.Fatalf("Retry-After 2 gives %v", d)
	}
}
