package adminapi

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// Which outcomes of an attempt leave open whether the server committed it.
func TestAttemptAmbiguity(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		err       error
		connected bool
		ambiguous bool
	}{
		{"connection refused", 0, errors.New("dial tcp: connection refused"), false, false},
		{"guard refusal", 0, &Error{kind: ErrEndpointRefused}, false, false},
		{"reset after connecting", 0, errors.New("connection reset by peer"), true, true},
		{"EOF after connecting", 0, errors.New("EOF"), true, true},
		{"200", 200, nil, true, false},
		{"400", 400, nil, true, false},
		{"409", 409, nil, true, false},
		{"429", 429, nil, true, false},
		{"500", 500, nil, true, true},
		{"501", 501, nil, true, false},
		{"502", 502, nil, true, true},
		{"503", 503, nil, true, false},
		{"504", 504, nil, true, true},
	} {
		x := &exchange{}
		x.connected.Store(tc.connected)
		var resp *http.Response
		if tc.err == nil {
			resp = &http.Response{StatusCode: tc.status}
		}
		x.observe(resp, tc.err)
		if x.ambiguous != tc.ambiguous {
			t.Errorf("%s: ambiguous = %v, want %v", tc.name, x.ambiguous, tc.ambiguous)
		}
	}
}

// A detached context carries the caller's values, is cancelled with the
// caller's cause, keeps the caller's deadline, and once released no longer
// follows the caller.
func TestDetach(t *testing.T) {
	type key struct{}
	cause := errors.New("stopping")
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
	ctx, release := detach(parent)
	defer release()
	if ctx.Value(key{}) != "v" {
		t.Error("the caller's values are lost")
	}
	if _, ok := ctx.Deadline(); ok {
		t.Error("a deadline the caller does not have")
	}
	cancel(cause)
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), cause) || !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("cancelled with %v (%v), want %v", context.Cause(ctx), ctx.Err(), cause)
	}

	deadline := time.Now().Add(time.Hour)
	parent2, cancel2 := context.WithDeadline(context.Background(), deadline)
	defer cancel2()
	ctx2, release2 := detach(parent2)
	if d, ok := ctx2.Deadline(); !ok || !d.Equal(deadline) {
		t.Errorf("deadline %v, %v; want %v", d, ok, deadline)
	}
	release2()
	if ctx2.Err() == nil {
		t.Error("a released context is still live")
	}

	parent3, cancel3 := context.WithCancel(context.Background())
	ctx3, release3 := detach(parent3)
	release3()
	cancel3()
	if !errors.Is(context.Cause(ctx3), context.Canceled) || errors.Is(context.Cause(ctx3), cause) {
		t.Errorf("released context: cause %v", context.Cause(ctx3))
	}
}
