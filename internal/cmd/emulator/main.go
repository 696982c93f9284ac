// Command emulator runs the GET admin API test double from
// internal/emulator as a standalone server, for `make emulator`, `make demo`
// and tests that need a real process (TLS, restarts, kill -9).
//
// It is not a Grafana Enterprise Traces server and is never part of the
// provider; see the emulator package documentation.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

const tokenEnv = "TEMPO_EMULATOR_ADMIN_TOKEN"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "emulator:", err)
		}
		os.Exit(2)
	}
}

type config struct {
	listen     string
	adminToken string
	clusters   []string
	tlsCert    string
	tlsKey     string
	clientCA   string
	dataDir    string
	control    bool
	compat     emulator.Compat
	rateLimit  float64
	rateBurst  int
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var cluster, compat string
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:3100", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&c.adminToken, "admin-token", "", "bootstrap admin token (default $"+tokenEnv+", else generated and printed)")
	fs.StringVar(&cluster, "cluster", "tempo", "cluster name; comma-separated for several, the first is this emulator's own")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate file; enables HTTPS with -tls-key")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key file for -tls-cert")
	fs.StringVar(&c.clientCA, "client-ca", "", "PEM CA bundle; when set, clients must present a certificate it signed")
	fs.StringVar(&c.dataDir, "data-dir", "", "directory where state survives restarts (default: memory only)")
	fs.BoolVar(&c.control, "control", false, "enable the /_emulator/ control surface (faults, counts, reset, clock)")
	fs.StringVar(&compat, "compat", "strict", "server variants for rules the contract leaves open, comma-separated: "+
		strings.Join(emulator.CompatVariants(), ", ")+`; "all" for every one, "strict" for none`)
	fs.Float64Var(&c.rateLimit, "rate-limit", 0, "admin API requests per second above which the server answers 429 with a Retry-After in whole seconds (0: no limit)")
	fs.IntVar(&c.rateBurst, "rate-burst", 0, "requests allowed at once above -rate-limit (default a tenth of a second's worth, at least 1)")
	err := fs.Parse(args)
	if err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.adminToken == "" {
		c.adminToken = getenv(tokenEnv)
	}
	for _, name := range strings.Split(cluster, ",") {
		if name = strings.TrimSpace(name); name != "" {
			c.clusters = append(c.clusters, name)
		}
	}
	if len(c.clusters) == 0 {
		return c, errors.New("-cluster needs at least one name")
	}
	if c.compat, err = emulator.ParseCompat(compat); err != nil {
		return c, fmt.Errorf("-compat: %w", err)
	}
	if !(c.rateLimit >= 0) || math.IsInf(c.rateLimit, 1) {
		return c, fmt.Errorf("-rate-limit: %v is not a number of requests per second", c.rateLimit)
	}
	if c.rateBurst < 0 || (c.rateBurst > 0 && c.rateLimit == 0) {
		return c, errors.New("-rate-burst: needs -rate-limit, and must not be negative")
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, errors.New("-tls-cert and -tls-key go together")
	}
	if c.clientCA != "" && c.tlsCert == "" {
		return c, errors.New("-client-ca needs -tls-cert and -tls-key")
	}
	return c, nil
}

func (c config) tlsConfig() (*tls.Config, error) {
	if c.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("loading TLS key pair: %w", err)
	}
	// No "h2" in NextProtos: HTTP/1.1 keeps connections hijackable, which
	// the drop faults need.
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.clientCA != "" {
		pem, err := os.ReadFile(c.clientCA)
		if err != nil {
			return nil, fmt.Errorf("reading client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificates in client CA file %s", c.clientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// run serves until ctx is cancelled, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	generated := false
	if c.adminToken == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		c.adminToken, generated = hex.EncodeToString(b), true
	}
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return err
	}
	emu, err := emulator.New(emulator.Options{
		AdminToken: c.adminToken,
		Clusters:   c.clusters,
		Control:    c.control,
		DataDir:    c.dataDir,
		Compat:     c.compat,
		RateLimit:  c.rateLimit,
		RateBurst:  c.rateBurst,
	})
	if err != nil {
		return err
	}
	defer func() { _ = emu.Close() }()

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if tlsCfg != nil {
		ln, scheme = tls.NewListener(ln, tlsCfg), "https"
	}
	errLog := log.New(stderr, "emulator: ", 0)
	if c.compat != (emulator.Compat{}) {
		// On stderr: stdout is the token and listening lines scripts parse.
		errLog.Printf("server variants: %s", c.compat)
	}
	if c.rateLimit > 0 {
		errLog.Printf("admin API rate limit: %g requests/s, burst %d", c.rateLimit, emulator.RateBurst(c.rateLimit, c.rateBurst))
	}
	srv := newHTTPServer(logRequests(emu, errLog), errLog)
	srv.ConnState = emu.ConnState
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// The listening line comes last: scripts treat it as "ready" and may stop
	// reading there, so the generated token must already be printed.
	if generated {
		_, _ = fmt.Fprintf(stdout, "admin token: %s\n", c.adminToken)
	}
	_, _ = fmt.Fprintf(stdout, "emulator listening on %s://%s cluster=%s\n", scheme, ln.Addr(), c.clusters[0])

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// newHTTPServer bounds how long a client may take to send a request and
// how long an idle connection is kept, so slow or vanished clients cannot
// pile up connections. Request bodies are at most 1 MiB, so a minute is
// generous. There is deliberately no WriteTimeout: it would cut delay faults
// short, and net/http clears the read deadline once a body has been read, so
// ReadTimeout does not.
func newHTTPServer(h http.Handler, errLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
	}
}

// logRequests writes one line per request. Only method, path and status are
// logged: headers and query strings may carry credentials.
func logRequests(next http.Handler, l *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		lw := &logWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			outcome := fmt.Sprint(lw.status)
			rec := recover()
			switch {
			case lw.hijacked:
				outcome = "dropped"
			case rec != nil:
				outcome = "aborted"
			}
			l.Printf("%s %s %s %s", r.Method, r.URL.Path, outcome, time.Since(start).Round(time.Microsecond))
			if rec != nil {
				panic(rec)
			}
		}()
		next.ServeHTTP(lw, r)
	})
}

type logWriter struct {
	http.ResponseWriter
	once     sync.Once
	status   int
	hijacked bool
}

func (l *logWriter) WriteHeader(status int) {
	l.once.Do(func() { l.status = status })
	l.ResponseWriter.WriteHeader(status)
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.once.Do(func() {})
	return l.ResponseWriter.Write(p)
}

func (l *logWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	l.hijacked = true
	return http.NewResponseController(l.ResponseWriter).Hijack()
}

func (l *logWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }
