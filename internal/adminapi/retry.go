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
		var alert tls.AlertError
		var verify *tls.CertificateVerificationError
		// A refusal by the server's side of the handshake arrives as an
		// unexported alert type; its text is the only stable mark.
		if errors.As(err, &alert) || errors.As(err, &verify) || strings.Contains(err.Error(), "remote error: tls:") {
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

// backoff waits what Retry-After asks on 429 and 503 (capped), and
// otherwise an exponentially growing, fully jittered delay between min and
// max, so that many runners retrying at once spread out.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, maxRetryAfter)
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

// retryAfter reads a Retry-After value in seconds or as an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
