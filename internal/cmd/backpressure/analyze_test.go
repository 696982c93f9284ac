package main

import (
	"strings"
	"testing"
	"time"
)

func TestAnalyze(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	at := func(key string, arrived, answered time.Time, status int, retryAfter time.Duration) attempt {
		return attempt{key: key, arrived: arrived, answered: answered, status: status, retryAfter: retryAfter}
	}
	a := analyze([]attempt{
		// waited Retry-After and 200 ms more
		at("a", ms(0), ms(10), 429, time.Second), at("a", ms(1210), ms(1220), 201, 0),
		// came back 500 ms early
		at("b", ms(0), ms(10), 429, time.Second), at("b", ms(510), ms(520), 201, 0),
		// sent again after a success: not a retry the client should make
		at("c", ms(0), ms(5), 201, 0), at("c", ms(100), ms(105), 409, 0),
		// refused twice: the client gave up
		at("d", ms(0), ms(5), 429, time.Second), at("d", ms(1500), ms(1505), 429, time.Second),
		// a 503 without Retry-After: a retry, but no slack to measure
		at("e", ms(0), ms(5), 503, 0), at("e", ms(300), ms(305), 201, 0),
		// arrives 5 ms after a's retry: one herd of two
		at("f", ms(0), ms(10), 429, time.Second), at("f", ms(1215), ms(1225), 201, 0),
		// sent again before the first attempt was answered
		at("g", ms(0), ms(50), 429, time.Second), at("g", ms(20), ms(30), 201, 0),
	})
	want := analysis{
		Requests: 14, Operations: 7, Refused: 6, GaveUp: 1, Retries: 7, Unprompted: 2, Early: 1,
		SlackMin: -500 * time.Millisecond, SlackMedian: 205 * time.Millisecond, SlackMax: 495 * time.Millisecond,
		Herd: 2,
	}
	if a != want {
		t.Errorf("analyze:\n got %+v\nwant %+v", a, want)
	}
}

func TestCheck(t *testing.T) {
	good := result{requests: 1010, statuses: map[string]int{"201": 1000, "429": 10},
		analysis: analysis{Requests: 1010, Operations: 1000, Refused: 10, Retries: 10}}
	if p := good.check(1000); len(p) != 0 {
		t.Errorf("a clean run has problems: %q", p)
	}
	bad := good
	bad.requests, bad.Requests, bad.Retries, bad.Unprompted, bad.Early = 1020, 1020, 20, 10, 3
	p := strings.Join(bad.check(1000), "\n")
	for _, w := range []string{"1020 requests for 1000 operations and 10 refusals", "10 retries were not prompted", "3 retries came before Retry-After"} {
		if !strings.Contains(p, w) {
			t.Errorf("problems lack %q:\n%s", w, p)
		}
	}
}

func TestConfiguration(t *testing.T) {
	if c := configuration(3, -1); !strings.Contains(c, `provider "tempo" {}`) || !strings.Contains(c, "count   = 3") {
		t.Errorf("configuration:\n%s", c)
	}
	if c := configuration(3, 8); !strings.Contains(c, "max_retries = 8") {
		t.Errorf("configuration with max_retries:\n%s", c)
	}
}
