package adminapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultBreakerCooldown is how long a Client fails requests at once after
// finding the admin API unreachable, unless Config.BreakerCooldown says
// otherwise.
const DefaultBreakerCooldown = 30 * time.Second

// breaker makes a dead admin API fail fast, once. An apply of a thousand
// objects against an API that is down would otherwise spend the whole
// retry budget, back-off included, on every one of them. Once an operation
// has spent its budget on connection failures, requests of the same Client
// fail at once, without being sent, naming the first failure. After the
// cool-down one request goes through as a probe: an answer of any kind
// closes the breaker, a connection failure opens it again. Answers (5xx,
// 429 included) never open it: the API is there, and the retry rules deal
// with them.
type breaker struct {
	cooldown time.Duration
	now      func() time.Time

	mu      sync.Mutex
	open    bool
	since   time.Time // when it last opened
	cause   string    // the failure that opened it
	probing bool      // the probe request is out
}

func newBreaker(cooldown time.Duration) *breaker {
	switch {
	case cooldown == 0:
		cooldown = DefaultBreakerCooldown
	case cooldown < 0:
		cooldown = 0
	}
	return &breaker{cooldown: cooldown, now: time.Now}
}

// admit decides whether a request may be sent. probe says it is the one
// let through after the cool-down; when it may not be sent, cause is why.
func (b *breaker) admit() (probe bool, cause string, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return false, "", true
	}
	if !b.probing && b.now().Sub(b.since) >= b.cooldown {
		b.probing = true
		return true, "", true
	}
	return false, b.cause, false
}

func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

// answered records that the API answered: it is reachable.
func (b *breaker) answered() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.open, b.cause = false, ""
}

// unreachable records an operation that found the API unreachable. The
// first cause is kept while the breaker stays open; the cool-down restarts.
func (b *breaker) unreachable(cause string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		b.cause = cause
	}
	b.open, b.since = true, b.now()
}

// probeDone frees the probe slot, whatever the probe found (a probe
// cancelled by its caller found nothing, and the next request may probe).
func (b *breaker) probeDone() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

// bypassBreakerKey marks a context whose requests go out even while the
// breaker is open: the revocation of an orphaned token must be tried even
// when the create that left it behind just opened the breaker.
type bypassBreakerKey struct{}

func withoutBreaker(ctx context.Context) context.Context {
	return context.WithValue(ctx, bypassBreakerKey{}, true)
}

// errBreakerOpened stops the retries of an operation in flight when another
// one has meanwhile found the API unreachable.
var errBreakerOpened = errors.New("the admin API was found unreachable meanwhile")

// notSent is the error of a request the open breaker kept back.
func (c *Client) notSent(op, cause string) *Error {
	hint := "Check url and that the admin API is running"
	if d := c.breaker.cooldown; d > 0 {
		hint += fmt.Sprintf("; one request goes through to try again %s after it was found unreachable", d)
	}
	return &Error{Op: op, kind: ErrConnection,
		Message: fmt.Sprintf("the request was not sent because the admin API at %s was unreachable (%s)", c.URL(), cause),
		Hint:    hint}
}
