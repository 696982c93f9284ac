package adminapi

import (
	"testing"
	"time"
)

// The breaker's states on a clock of the test's own: closed, open until
// the cool-down ends, then one probe at a time.
func TestBreakerStates(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBreaker(30 * time.Second)
	b.now = func() time.Time { return now }

	if probe, _, ok := b.admit(); !ok || probe {
		t.Fatal("a closed breaker must admit without probing")
	}
	b.unreachable("first")
	b.unreachable("second")
	if _, cause, ok := b.admit(); ok || cause != "first" {
		t.Fatalf("open breaker: ok=%v cause=%q, want refused with the first cause", ok, cause)
	}
	now = now.Add(29 * time.Second)
	if _, _, ok := b.admit(); ok {
		t.Fatal("admitted before the cool-down ended")
	}
	now = now.Add(2 * time.Second)
	probe, _, ok := b.admit()
	if !ok || !probe {
		t.Fatal("no probe after the cool-down")
	}
	if _, _, ok := b.admit(); ok {
		t.Fatal("a second request went through while the probe was out")
	}
	b.unreachable("probe failed")
	b.probeDone()
	if _, cause, ok := b.admit(); ok || cause != "first" {
		t.Fatalf("after a failed probe: ok=%v cause=%q, want open again with the first cause", ok, cause)
	}
	now = now.Add(31 * time.Second)
	if probe, _, ok := b.admit(); !ok || !probe {
		t.Fatal("no probe after the second cool-down")
	}
	b.answered()
	b.probeDone()
	if probe, _, ok := b.admit(); !ok || probe {
		t.Fatal("an answer must close the breaker")
	}
	// A probe cancelled by its caller found nothing: the next request
	// probes.
	b.unreachable("again")
	now = now.Add(31 * time.Second)
	if _, _, ok := b.admit(); !ok {
		t.Fatal("no probe")
	}
	b.probeDone()
	if probe, _, ok := b.admit(); !ok || !probe {
		t.Fatal("the probe slot was not freed")
	}
}
