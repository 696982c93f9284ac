package emulator

import (
	"math"
	"testing"
	"time"
)

// julianYear is the year the 100-year limit on advances is counted in.
const julianYear = 365*24*time.Hour + 6*time.Hour

// A huge advance used to overflow the nanosecond conversion and move the
// clock into the past, which made every token look valid again.
func TestClockRejectsUnsafeAdvances(t *testing.T) {
	e := newEnv(t)
	noAuth := map[string]string{"Authorization": ""}
	for _, body := range []string{
		`{"advance_seconds": 1e300}`,
		`{"advance_seconds": 1.7976931348623157e308}`,
		`{"advance_seconds": 1e400}`,
		`{"advance_seconds": 3155760001}`, // just over 100 years
		`{"advance_seconds": -1}`,
		`{"advance_seconds": -1e-300}`,
		`{"advance_seconds": null}`,
		`{"advance_seconds": "60"}`,
		`{}`,
	} {
		t.Run(body, func(t *testing.T) {
			wantField(t, e.call("POST", "/_emulator/clock", body, noAuth), "advance_seconds")
			if got := e.srv.now(); !got.Equal(testNow) {
				t.Fatalf("refused advance moved the clock to %s", got)
			}
		})
	}
	// Exactly 100 years is allowed, and moves forward.
	r := e.want(e.call("POST", "/_emulator/clock", `{"advance_seconds": 3155760000}`, noAuth), 200)
	if want := testNow.Add(100 * julianYear); r.json(t)["now"] != formatTime(want) {
		t.Errorf("clock answer %s, want %s", r.body, formatTime(want))
	}
}

func TestCheckAdvanceSeconds(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, math.Nextafter(0, -1), 1e300, maxAdvance.Seconds() + 1} {
		if _, err := advanceFromSeconds(v); err == nil || err.field != "advance_seconds" {
			t.Errorf("advanceFromSeconds(%v) = %v, want an error naming advance_seconds", v, err)
		}
	}
	for _, v := range []float64{0, 0.5, 3600, maxAdvance.Seconds()} {
		if d, err := advanceFromSeconds(v); err != nil || d < 0 {
			t.Errorf("advanceFromSeconds(%v) = %v, %v", v, d, err)
		}
	}
}

// Advance is public, so it must stay monotonic whatever it is given: a
// clock that jumps back would revive expired tokens.
func TestAdvanceNeverMovesBack(t *testing.T) {
	e := newEnv(t)
	prev := e.srv.now()
	for _, d := range []time.Duration{
		-time.Hour, math.MinInt64, time.Hour, math.MaxInt64, math.MaxInt64, time.Second, -1, math.MaxInt64,
	} {
		e.srv.Advance(d)
		got := e.srv.now()
		if got.Before(prev) {
			t.Fatalf("Advance(%d) moved the clock back from %s to %s", d, prev, got)
		}
		if d < 0 && !got.Equal(prev) {
			t.Fatalf("Advance(%d) moved the clock from %s to %s", d, prev, got)
		}
		prev = got
	}
	if !prev.After(testNow.Add(200 * julianYear)) {
		t.Errorf("clock at %s after saturating advances", prev)
	}
}
