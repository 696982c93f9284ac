package emulator

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimiter answers admin API requests above a rate with 429 and a
// Retry-After that says, in whole seconds, when a request would pass: a
// token bucket refilled at the rate, holding at most the burst. A refused
// request takes no token, so clients that wait what they are told are
// served in turn rather than refused for ever.
type rateLimiter struct {
	clock func() time.Time

	mu  sync.Mutex // makes "refuse, and say how long until a token" one step
	lim *rate.Limiter
}

// RateBurst returns the burst that Options with this RateLimit and
// RateBurst use.
func RateBurst(perSecond float64, burst int) int {
	if burst > 0 {
		return burst
	}
	return defaultBurst(perSecond)
}

// defaultBurst is a tenth of a second's worth of requests, at least one:
// gateways keep bursts short, and a short one makes a herd of clients that
// all come back at the same instant visible.
func defaultBurst(perSecond float64) int {
	return int(max(1, math.Ceil(perSecond/10)))
}

func newRateLimiter(perSecond float64, burst int, clock func() time.Time) (*rateLimiter, error) {
	switch {
	case perSecond == 0:
		if burst != 0 {
			return nil, errors.New("emulator: a rate-limit burst needs a rate limit")
		}
		return nil, nil
	case math.IsNaN(perSecond) || math.IsInf(perSecond, 0) || perSecond < 0:
		return nil, errors.New("emulator: the rate limit must be a positive number of requests per second")
	case burst < 0:
		return nil, errors.New("emulator: the rate-limit burst must not be negative")
	case burst == 0:
		burst = defaultBurst(perSecond)
	}
	// The bucket starts full.
	return &rateLimiter{clock: clock, lim: rate.NewLimiter(rate.Limit(perSecond), burst)}, nil
}

// admit takes a token for one request. Without one it returns the
// Retry-After to send: the time until a token is there, rounded up to
// whole seconds (the header has no finer unit), so at least 1.
func (l *rateLimiter) admit() (retryAfter int, ok bool) {
	if l == nil {
		return 0, true
	}
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lim.AllowN(now, 1) {
		return 0, true
	}
	missing := 1 - l.lim.TokensAt(now)
	wait := missing / float64(l.lim.Limit())
	return int(max(1, math.Ceil(wait))), false
}

// refuse answers a request the rate limiter turned away.
func (s *Server) refuse(w http.ResponseWriter, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	s.writeError(w, errStatus(http.StatusTooManyRequests, "rate limit exceeded; retry after %d s", retryAfter))
}
