package adminapi

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"

	"github.com/hashicorp/go-retryablehttp"
)

// exchange records what the attempts of one operation learned. It travels
// in the request context, where the retry hooks and the connection trace
// fill it in.
type exchange struct {
	br     *breaker
	probe  bool // this operation is the breaker's probe
	bypass bool // the breaker does not hold this operation back

	attempts int
	lastErr  error // the last attempt's failure, nil when it got an answer
	// ambiguous: some attempt may have been committed by the server without
	// its answer reaching the client. A create that was ambiguous can find
	// its own object under the name; one whose every attempt got a definite
	// answer cannot.
	ambiguous bool
	// connected: the current attempt got a connection, so part of the
	// request may have reached the server. Set by the trace, which may run
	// on another goroutine (HTTP/2).
	connected atomic.Bool
}

type exchangeKey struct{}

func exchangeOf(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// withExchange puts x into ctx, with a trace that tells whether an attempt
// got as far as a connection.
func withExchange(ctx context.Context, x *exchange) context.Context {
	ctx = context.WithValue(ctx, exchangeKey{}, x)
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { x.connected.Store(true) },
	})
}

// countAttempt starts an attempt: it counts it and forgets the previous
// attempt's connection.
func countAttempt(_ retryablehttp.Logger, req *http.Request, retry int) {
	if x := exchangeOf(req.Context()); x != nil {
		x.attempts = retry + 1
		x.connected.Store(false)
	}
}

// observe classifies one attempt's outcome.
func (x *exchange) observe(resp *http.Response, err error) {
	x.lastErr = err
	if err != nil {
		// Before a connection nothing was sent (refused, no such host, the
		// guard said no); after it, the request may have been processed
		// whatever went wrong (reset, EOF, timeout, cancellation).
		if x.connected.Load() {
			x.ambiguous = true
		}
		return
	}
	if ambiguousStatus(resp.StatusCode) {
		x.ambiguous = true
	}
	if x.br != nil {
		x.br.answered()
	}
}

// prepareRetry stops an operation's retries after a connection failure
// when the breaker opened meanwhile: another operation already spent a
// budget finding the API unreachable.
func prepareRetry(req *http.Request) error {
	x := exchangeOf(req.Context())
	if x == nil || x.br == nil || x.probe || x.bypass || x.lastErr == nil {
		return nil
	}
	if x.br.isOpen() {
		return errBreakerOpened
	}
	return nil
}

// ambiguousStatus reports whether an answer leaves open whether the request
// was carried out. 429 and 503 say it was not (rate limited, no leader),
// 4xx are definite refusals, 501 and 505 refuse the request's form. Other
// 5xx (500, 502, 504 above all) come from a server or gateway that may
// have committed before failing.
func ambiguousStatus(status int) bool {
	switch status {
	case http.StatusServiceUnavailable, http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return status >= 500
}
