package provider

import (
	"context"
	"errors"
	"testing"
	"time"
)

// While its call runs, the context a call hands the framework is the
// call's: its values, its deadline, and its cancellation, cause and all,
// reaching the contexts made from it. After the call it is no one's: done,
// without values.
func TestScopedContext(t *testing.T) {
	type key struct{}
	deadline := time.Now().Add(time.Hour)
	parent, cancelDeadline := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), deadline)
	defer cancelDeadline()
	call, cancel := context.WithCancelCause(parent)
	stopping := errors.New("stopping")

	var held, child context.Context
	_, _ = scoped(call, 0, func(ctx context.Context, _ int) (int, error) {
		held = ctx
		if ctx.Value(key{}) != "v" {
			t.Error("the call's values are lost")
		}
		if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
			t.Errorf("deadline %v, %v; want %v", d, ok, deadline)
		}
		var stop context.CancelFunc
		child, stop = context.WithCancel(ctx) // as the framework does
		defer stop()
		cancel(stopping)
		// At once: the child is a node of the call's cancellation tree,
		// not a goroutine watching the call.
		if child.Err() == nil {
			t.Fatal("cancelling the call does not reach the contexts made from its context at once")
		}
		if !errors.Is(context.Cause(child), stopping) || !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("cancelled with %v (%v), want %v", context.Cause(child), ctx.Err(), stopping)
		}
		return 0, nil
	})
	if held.Value(key{}) != nil {
		t.Error("the context still carries the call's values after the call")
	}
	if _, ok := held.Deadline(); ok {
		t.Error("the context still has the call's deadline after the call")
	}
	// Done, as the call is: whatever is made from it later is done too.
	late, stop := context.WithCancel(held)
	defer stop()
	if held.Err() == nil || late.Err() == nil {
		t.Error("the context of a call that returned is not done")
	}
}
