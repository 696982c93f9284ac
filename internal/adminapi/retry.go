package adminapi

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// maxRetryAfter caps how long a Retry-After header can make the client
// wait, so that a misbehaving server cannot stall a plan for an hour.
const maxRetryAfter = 60 * time.Second

// checkRetry records how the attempt went, for the lost-response rule,
// then decides with retryPolicy.
// A probe of the breaker is one request: a connection failure settles it.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if x := exchangeOf(ctx); x != nil {
		x.observe(resp, err)
		if x.probe && err != nil {
			return false, nil //nolint:nilerr // the error is the answer: the caller reports it, unretried
		}
	}
	return retryPolicy(ctx, resp, err)
}

// retryPolicy retries what ADMIN-API.md says may pass: rate limiting (429),
// gateway and fail-over errors (502, 503, 504) and connection errors. Every
// other status is an answer and is returned as it is.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var refused *Error
		if errors.As(err, &refused) {
			return false, err // the guard said no; asking again changes nothing
		}
		if tlsRefusal(err) {
			return false, err // a TLS handshake refusal is configuration, not chance
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

// tlsRefusal reports whether err is a TLS handshake refused by either side.
// A refusal by the server's side arrives as an unexported alert type; its
// text is the only stable mark.
func tlsRefusal(err error) bool {
	var alert tls.AlertError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &alert) || errors.As(err, &verify) || strings.Contains(err.Error(), "remote error: tls:")
}

// retryAfterSpread is how far past Retry-After a retry may be spread: the
// header's unit. A server that rounds its wait up to whole seconds means
// "some time in that second", not "all at its start".
const retryAfterSpread = time.Second

// backoff waits what Retry-After asks on 429 and 503 (capped), and
// otherwise an exponentially growing, fully jittered delay between min and
// max, so that many runners retrying at once spread out.
//
// Retry-After is a floor, whatever min and max say, and the retry goes out
// at a random point of the second after it (of a shorter span when the
// server asked for less than a second: that wait, or min if longer).
// Requests a rate limiter refused together, all told the same whole
// second, would otherwise come back at one instant, where a short burst
// lets a few through and refuses the rest again, retry after retry, until
// their budget is spent.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			spread := min(retryAfterSpread, max(d, minWait))
			return min(d+rand.N(spread+1), maxRetryAfter) //nolint:gosec // jitter needs no cryptographic randomness
		}
	}
	ceiling := maxWait
	if attempt < 30 {
		ceiling = min(maxWait, minWait<<attempt)
	}
	if ceiling <= minWait {
		return minWait
	}
	return minWait + rand.N(ceiling-minWait+1) //nolint:gosec // jitter needs no cryptographic randomness
}

// retryAfter reads a Retry-After value: delta-seconds (digits only) or an
// HTTP date. The wait is capped at maxRetryAfter before it is turned into a
// Duration, so that a huge value cannot overflow into a negative wait and
// make the client retry at once. Anything else (a sign, a fraction, text)
// counts as absent.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if allDigits(v) {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil || s > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true // only a range error is possible: digits too many
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
