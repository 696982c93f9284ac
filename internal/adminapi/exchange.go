package adminapi

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"

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
}

type exchangeKey struct{}

func exchangeOf(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// withExchange puts x into ctx.
//
// It adds no httptrace.ClientTrace to tell whether an attempt got a
// connection: a trace whose hook held the exchange kept every request's
// context, and with it the framework's per-call loggers, reachable for the
// life of the process (tens of megabytes per thousand objects and phase);
// observe reads the same from the error instead.
func withExchange(ctx context.Context, x *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, x)
}

// countAttempt starts an attempt: it counts it.
func countAttempt(_ retryablehttp.Logger, req *http.Request, retry int) {
	if x := exchangeOf(req.Context()); x != nil {
		x.attempts = retry + 1
	}
}

// observe classifies one attempt's outcome.
func (x *exchange) observe(resp *http.Response, err error) {
	x.lastErr = err
	if err != nil {
		// Before a connection nothing was sent (refused, no such host, the
		// guard said no); after it, the request may have been processed
		// whatever went wrong (reset, EOF, timeout, cancellation).
		if !beforeConnection(err) {
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

// errNoAddress is the dial's failure when the host resolves to no address.
var errNoAddress = errors.New("resolves to no address")

// beforeConnection reports whether an attempt failed before any connection
// to the server, so that nothing of the request was sent: the dial failed
// (refused, unreachable, timed out), the host did not resolve, the guard
// refused the address, or the TLS handshake failed on the client's side.
// Any other failure came with a connection, or may have (a TLS alert from
// the server, a cancellation or timeout while waiting for a connection
// count as after: the cautious reading).
func beforeConnection(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var refused *Error
	if errors.As(err, &refused) && refused.kind == ErrEndpointRefused {
		return true
	}
	// The client checks the server's certificate, or finds the server does
	// not speak TLS, before it sends a byte of the request.
	var verification *tls.CertificateVerificationError
	var notTLS tls.RecordHeaderError
	if errors.As(err, &verification) || errors.As(err, &notTLS) {
		return true
	}
	return errors.Is(err, errNoAddress)
}
