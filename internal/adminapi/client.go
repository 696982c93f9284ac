package adminapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
)

// BasePath is the admin API v3 prefix; v1 and v2 are deprecated.
const BasePath = "/admin/api/v3"

// Defaults applied when a Config field is zero.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRetries   = 4
	DefaultRetryWaitMin = 500 * time.Millisecond
	DefaultRetryWaitMax = 15 * time.Second
	DefaultUserAgent    = "terraform-provider-tempo/dev"
)

// maxResponse bounds how much of a response body is read.
const maxResponse = 32 << 20

// Config configures a Client. Only URL and one of Token or TokenFile are
// required.
type Config struct {
	// URL of the admin API, such as http://tempo-admin-api.tempo.svc:3100.
	// A trailing /admin/api/v3 is accepted and ignored.
	URL string
	// Token is the admin token; TokenFile names a file holding it (a mounted
	// Kubernetes Secret). Exactly one must be set.
	Token     string
	TokenFile string

	// CACertFile or CACertPEM: the CA that signs the server's certificate.
	// When set, only this CA is trusted.
	CACertFile string
	CACertPEM  string
	// ClientCertFile and ClientKeyFile: a client certificate for mTLS.
	ClientCertFile string
	ClientKeyFile  string
	// InsecureSkipVerify turns off server certificate verification.
	InsecureSkipVerify bool

	// Timeout bounds each HTTP attempt. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxRetries is the retry budget per operation. Zero means
	// DefaultMaxRetries; a negative value turns retries off.
	MaxRetries int
	// RetryWaitMin and RetryWaitMax bound the back-off between attempts.
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	// BreakerCooldown is how long requests fail at once, without being sent,
	// after an operation found the admin API unreachable, before one request
	// is let through to probe it. Zero means DefaultBreakerCooldown; a
	// negative value probes with the next request.
	BreakerCooldown time.Duration

	// Now is the client's clock, for tests; nil means time.Now. It dates
	// the start of a token create, which tells a token this create may
	// have made from an older one under the same name.
	Now func() time.Time

	// AllowedEndpoints restricts where the admin token may be sent: host
	// suffixes (".svc", "tempo.example.internal") and CIDRs ("10.0.0.0/8").
	// Over https:// a matching suffix is enough. Over http:// every address
	// dialled must also be loopback, private (not link-local: cloud
	// metadata services answer there) or inside a listed CIDR, whatever
	// suffix matched: the token travels in clear text.
	AllowedEndpoints []string

	// UserAgent defaults to DefaultUserAgent.
	UserAgent string
	// Logger receives one debug record per request. Secrets are redacted
	// before they reach it.
	Logger LogFunc
	// Resolver looks up host names for the guard; nil uses net.DefaultResolver.
	Resolver Resolver
}

// LogFunc receives the client's debug records.
type LogFunc func(ctx context.Context, msg string, fields map[string]any)

// Client talks to one admin API endpoint. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	auth      string
	secrets   []string // the forms of the admin token that scrub removes
	userAgent string
	log       LogFunc
	http      *retryablehttp.Client
	guard     *guard
	breaker   *breaker
	maxBody   int64 // maxResponse; tests lower it
	now       func() time.Time
}

// New checks the configuration and builds a Client. It sends nothing.
func New(cfg Config) (*Client, error) {
	base, err := parseBaseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	token, err := adminToken(cfg)
	if err != nil {
		return nil, err
	}
	resolver := cfg.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	g, err := newGuard(base.Scheme, cfg.AllowedEndpoints, resolver)
	if err != nil {
		return nil, err
	}
	if _, err := g.checkStatic(base.Hostname()); err != nil {
		return nil, err
	}
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}

	transport := cleanhttp.DefaultPooledTransport()
	// The admin API lives inside the cluster; a proxy from the environment
	// would be a hop outside the guard's sight, holding the token.
	transport.Proxy = nil
	// A client talks to one host, with as many requests at once as the
	// CLI's -parallelism (ten by default). cleanhttp keeps GOMAXPROCS+1 idle
	// connections per host, so on a small runner most connections of every
	// burst were closed and dialled again (the guard resolving and checking
	// the host each time); keep as many as the pool holds in all.
	transport.MaxIdleConnsPerHost = transport.MaxIdleConns
	transport.TLSClientConfig = tlsCfg
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	transport.DialContext = g.dialContext(dialer.DialContext)

	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	hc := &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A redirect could carry the token elsewhere; the admin API has no
		// reason to send one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	retries := cfg.MaxRetries
	switch {
	case retries == 0:
		retries = DefaultMaxRetries
	case retries < 0:
		retries = 0
	}
	waitMin, waitMax := cfg.RetryWaitMin, cfg.RetryWaitMax
	if waitMin == 0 {
		waitMin = DefaultRetryWaitMin
	}
	if waitMax == 0 {
		waitMax = DefaultRetryWaitMax
	}
	if waitMax < waitMin {
		waitMax = waitMin
	}
	rc := &retryablehttp.Client{
		HTTPClient:     hc,
		Logger:         nil, // requests are logged through Config.Logger, redacted
		RetryWaitMin:   waitMin,
		RetryWaitMax:   waitMax,
		RetryMax:       retries,
		CheckRetry:     checkRetry,
		Backoff:        backoff,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: countAttempt,
		PrepareRetry:   prepareRetry,
	}

	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Client{
		base:      base,
		auth:      "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+token)),
		secrets:   secretForms(token),
		userAgent: ua,
		log:       cfg.Logger,
		http:      rc,
		guard:     g,
		breaker:   newBreaker(cfg.BreakerCooldown),
		maxBody:   maxResponse,
		now:       now,
	}, nil
}

// URL returns the admin API base URL the client talks to.
func (c *Client) URL() string { return c.base.String() }

func adminToken(cfg Config) (string, error) {
	switch {
	case cfg.Token != "" && cfg.TokenFile != "":
		return "", errors.New("token and token_file are both set; set only one")
	case cfg.Token != "":
		return strings.TrimSpace(cfg.Token), nil
	case cfg.TokenFile != "":
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return "", fmt.Errorf("token_file: cannot read the admin token: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("token_file: %s is empty", cfg.TokenFile)
		}
		return t, nil
	default:
		return "", errors.New("token: an admin token is required; set token, token_file, TEMPO_ADMIN_TOKEN or TEMPO_ADMIN_TOKEN_FILE")
	}
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in, documented
	if cfg.CACertFile != "" && cfg.CACertPEM != "" {
		return nil, errors.New("ca_cert_file and ca_cert_pem are both set; set only one")
	}
	if cfg.InsecureSkipVerify && (cfg.CACertFile != "" || cfg.CACertPEM != "") {
		// Silently ignoring the CA would let an operator believe the server
		// is verified against it.
		return nil, errors.New("insecure_skip_verify is set together with a CA (ca_cert_file or ca_cert_pem): with verification off the CA would be ignored; drop one (keeping the CA is what verifies the server)")
	}
	pem := []byte(cfg.CACertPEM)
	if cfg.CACertFile != "" {
		b, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("ca_cert_file: %w", err)
		}
		pem = b
	}
	if len(pem) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("ca_cert: no PEM certificate found; give the CA bundle in PEM form")
		}
		t.RootCAs = pool
	}
	if (cfg.ClientCertFile == "") != (cfg.ClientKeyFile == "") {
		return nil, errors.New("client_cert_file and client_key_file must be set together")
	}
	if cfg.ClientCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.ClientCertFile, cfg.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("client_cert_file/client_key_file: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// response is what one operation got back after retries. On a failure
// without an answer, status is 0 and only attempts and ambiguous say
// anything.
type response struct {
	status    int
	header    http.Header
	body      []byte
	attempts  int
	ambiguous bool // see exchange.ambiguous
}

// version returns the object version in the ETag header: digits, quoted
// (or, tolerated, bare; weak or not). Anything else, a sign included, is 0,
// unknown, and makes the client read the version afresh rather than send
// back an If-Match the server never gave.
func (r *response) version() int64 {
	v := strings.TrimPrefix(strings.TrimSpace(r.header.Get("ETag")), "W/")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if !allDigits(v) {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// do sends one admin API request, retrying as the robustness rules say. op
// names the operation for errors; path is escaped already (kind.item);
// ifMatch, when non-zero, is sent as If-Match. A non-2xx final status is
// returned as *Error. On failure the response, when not nil, still says how
// many attempts were made and whether one was ambiguous.
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, in any, ifMatch int64) (*response, error) {
	x := &exchange{br: c.breaker, bypass: ctx.Value(bypassBreakerKey{}) != nil}
	if !x.bypass {
		probe, cause, ok := c.breaker.admit()
		if !ok {
			return nil, c.notSent(op, cause)
		}
		if x.probe = probe; probe {
			defer c.breaker.probeDone()
		}
	}
	ctx = withExchange(ctx, x)
	req, body, err := c.newRequest(ctx, method, path, query, in, ifMatch)
	if err != nil {
		return nil, &Error{Op: op, kind: ErrUnexpected, err: err}
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	failed := func() *response { return &response{attempts: x.attempts, ambiguous: x.ambiguous} }
	if err != nil {
		if resp != nil {
			_ = resp.Body.Close()
		}
		if errors.Is(err, errBreakerOpened) && x.lastErr != nil {
			err = x.lastErr // what the attempts found, not why they stopped
		}
		c.logRequest(ctx, req.Request, body, nil, nil, x.attempts, start, err)
		return failed(), c.noAnswer(ctx, op, x, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := c.readBody(op, resp)
	if err != nil {
		// An answer that could not be read may still have been a success.
		if resp.StatusCode < 300 {
			x.ambiguous = true
		}
		c.logRequest(ctx, req.Request, body, resp, nil, x.attempts, start, err)
		return failed(), err
	}
	c.logRequest(ctx, req.Request, body, resp, out, x.attempts, start, nil)
	r := &response{status: resp.StatusCode, header: resp.Header, body: out, attempts: x.attempts, ambiguous: x.ambiguous}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := decodeError(op, resp.StatusCode, out)
		e.Message, e.Field = c.scrub(e.Message), c.scrub(e.Field)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			e.Message = "the server answered with a redirect, which is not followed so that the admin token stays on this endpoint; point url at the admin API itself"
		}
		return r, e
	}
	return r, nil
}

// newRequest builds the request and returns it with its JSON body.
func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, in any, ifMatch int64) (*retryablehttp.Request, []byte, error) {
	u := *c.base
	// Path and RawPath together, so that url.URL does not escape the
	// already escaped names a second time.
	u.RawPath = c.base.EscapedPath() + BasePath + path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, nil, err
	}
	u.Path = p
	u.RawQuery = query.Encode()

	var body []byte
	var rawBody any
	if in != nil {
		if body, err = json.Marshal(in); err != nil {
			return nil, nil, err
		}
		rawBody = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u.String(), rawBody)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != 0 {
		req.Header.Set("If-Match", strconv.Quote(strconv.FormatInt(ifMatch, 10)))
	}
	return req, body, nil
}

// readBody reads a response body up to the size limit. One byte more than
// the limit tells a body at the limit from one cut short, which would
// otherwise fail as "unexpected end of JSON input".
func (c *Client) readBody(op string, resp *http.Response) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, c.transportError(op, err, 0)
	}
	if int64(len(out)) > c.maxBody {
		return nil, &Error{Op: op, StatusCode: resp.StatusCode, kind: ErrUnexpected,
			Message: fmt.Sprintf("the response is larger than %d bytes, the most the client reads", c.maxBody),
			Hint:    "Check that url points at the admin API itself"}
	}
	return out, nil
}

// noAnswer turns a failure that left no response into the operation's
// error. When every attempt the budget allowed failed to connect or to get
// an answer (or the breaker's probe failed, or another operation found the
// API unreachable meanwhile), the API is unreachable: the error says so,
// and the breaker opens.
func (c *Client) noAnswer(ctx context.Context, op string, x *exchange, err error) *Error {
	e := c.transportError(op, err, x.attempts)
	spent := x.attempts > c.http.RetryMax || x.probe || x.br.isOpen()
	if ctx.Err() == nil && errors.Is(e.kind, ErrConnection) && !tlsRefusal(err) && spent {
		e.Message = fmt.Sprintf("the admin API at %s is unreachable", c.URL())
		c.breaker.unreachable(fmt.Sprintf("%s failed after %d attempt(s): %s", op, x.attempts, e.err))
	}
	return e
}

// transportError wraps a failure that left no response.
func (c *Client) transportError(op string, err error, attempts int) *Error {
	var ge *Error
	if errors.As(err, &ge) && errors.Is(ge, ErrEndpointRefused) {
		return ge
	}
	e := &Error{Op: op, kind: ErrConnection, err: errors.New(c.scrub(err.Error()))}
	var verify *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.Canceled):
		e.kind, e.err = ErrInterrupted, nil
		e.Message = "the run was stopped before the admin API answered"
		e.Hint = "The request may or may not have taken effect; run again, and the next plan shows what the server holds"
	case errors.As(err, &verify):
		e.Hint = "The server's certificate is not trusted: give its CA in ca_cert_file or ca_cert_pem"
	case strings.Contains(err.Error(), "remote error: tls:"):
		e.Hint = "The server refused the TLS handshake: if it requires mutual TLS, set client_cert_file and client_key_file"
	case attempts > 1:
		e.Hint = fmt.Sprintf("Gave up after %d attempts; check url and that the admin API is running", attempts)
	default:
		e.Hint = "Check url and that the admin API is running and reachable from here"
	}
	return e
}

// decode unmarshals a response body into out.
func decode(op string, r *response, out any) error {
	if err := json.Unmarshal(r.body, out); err != nil {
		return &Error{Op: op, StatusCode: r.status, kind: ErrUnexpected,
			Message: "the response is not the JSON object expected", err: err}
	}
	return nil
}
