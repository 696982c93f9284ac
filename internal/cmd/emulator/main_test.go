package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/testio"
)

// runMainEnv makes the test binary behave as the emulator command, so the
// tests drive a real process (signals, kill -9) without a separate build.
const runMainEnv = "TEMPO_EMULATOR_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	url     string
	cluster string
	token   string // only when generated
	stdout  *testio.SyncBuffer
	stderr  *testio.SyncBuffer
	done    chan error
	exited  bool
}

var listeningRE = regexp.MustCompile(`^emulator listening on (https?://127\.0\.0\.1:\d+) cluster=(\S+)$`)

func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, tokenEnv+"=") })
	cmd.Env = append(cmd.Env, runMainEnv+"=1")
	cmd.Env = append(cmd.Env, env...)
	p := &proc{t: t, cmd: cmd, stdout: &testio.SyncBuffer{}, stderr: &testio.SyncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.stdout.Write([]byte(line + "\n"))
			if tok, ok := strings.CutPrefix(line, "admin token: "); ok {
				p.token = tok
			}
			if m := listeningRE.FindStringSubmatch(line); m != nil && !signalled {
				p.url, p.cluster = m[1], m[2]
				signalled = true
				close(ready)
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if !p.exited {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case <-ready:
	case err := <-p.done:
		t.Fatalf("emulator exited before listening: %v\nstdout: %s\nstderr: %s", err, p.stdout, p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("emulator did not print its listening line\nstdout: %s\nstderr: %s", p.stdout, p.stderr)
	}
	return p
}

// stop sends sig and waits for the exit status.
func (p *proc) stop(sig os.Signal) error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.exited = true
		return err
	case <-time.After(20 * time.Second):
		p.t.Fatalf("emulator did not exit after %v", sig)
		return nil
	}
}

type result struct {
	status int
	etag   string
	body   []byte
}

func do(t *testing.T, c *http.Client, method, url, auth, ifMatch string, body any) result {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return result{status: res.StatusCode, etag: res.Header.Get("ETag"), body: data}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func want(t *testing.T, r result, status int) result {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

const api = "/admin/api/v3"

func TestGeneratedTokenLogsAndGracefulShutdown(t *testing.T) {
	p := startProc(t, nil, "-listen", "127.0.0.1:0", "-control")
	if p.cluster != "tempo" {
		t.Errorf("cluster=%s, want tempo", p.cluster)
	}
	if len(p.token) < 32 {
		t.Fatalf("generated token %q too short; stdout: %s", p.token, p.stdout)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	admin := basic("", p.token)
	want(t, do(t, c, "GET", p.url+api+"/clusters", "", "", nil), 401)
	want(t, do(t, c, "GET", p.url+api+"/clusters", admin, "", nil), 200)
	want(t, do(t, c, "POST", p.url+api+"/tenants", admin, "", map[string]any{"name": "team-a", "cluster": "tempo"}), 201)
	want(t, do(t, c, "POST", p.url+api+"/accesspolicies", admin, "", map[string]any{
		"name": "p", "realms": []any{map[string]any{"tenant": "team-a", "cluster": "tempo"}}, "scopes": []any{"traces:write"},
	}), 201)
	var tok struct{ Token string }
	_ = json.Unmarshal(want(t, do(t, c, "POST", p.url+api+"/tokens", admin, "", map[string]any{"name": "tok", "access_policy": "p"}), 201).body, &tok)
	want(t, do(t, c, "POST", p.url+"/otlp/v1/traces?secret="+tok.Token, basic("team-a", tok.Token), "", map[string]any{}), 200)

	// The server reports the connections it accepted.
	var st struct{ Connections int64 }
	_ = json.Unmarshal(want(t, do(t, c, "GET", p.url+"/_emulator/stats", "", "", nil), 200).body, &st)
	if st.Connections < 1 {
		t.Errorf("stats report %d connections", st.Connections)
	}

	// A drop fault closes the connection; the log says so. Only an
	// authorized request consumes it.
	want(t, do(t, c, "POST", p.url+"/_emulator/faults", "", "", map[string]any{"path": api + "/tenants", "drop": true}), 204)
	dropReq, _ := http.NewRequest("GET", p.url+api+"/tenants", nil)
	dropReq.Header.Set("Authorization", admin)
	if resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(dropReq); err == nil {
		_ = resp.Body.Close()
		t.Error("drop fault did not drop")
	}

	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr: %s", err, p.stderr)
	}
	logs := p.stderr.String()
	for _, line := range []string{
		"GET /admin/api/v3/clusters 401",
		"GET /admin/api/v3/clusters 200",
		"POST /admin/api/v3/tenants 201",
		"POST /otlp/v1/traces 200",
		"GET /admin/api/v3/tenants dropped",
	} {
		if !strings.Contains(logs, line) {
			t.Errorf("log lacks %q:\n%s", line, logs)
		}
	}
	for _, secret := range []string{p.token, tok.Token} {
		if secret == "" || strings.Contains(logs, secret) {
			t.Errorf("a credential appears in the log:\n%s", logs)
		}
	}
	if n := strings.Count(p.stdout.String(), "\n"); n != 2 {
		t.Errorf("stdout should be the token line and the listening line, got:\n%s", p.stdout)
	}
}

func TestTokenFromEnvironmentAndSeveralClusters(t *testing.T) {
	p := startProc(t, []string{tokenEnv + "=from-env"}, "-listen", "127.0.0.1:0", "-cluster", "east, west")
	if p.token != "" {
		t.Errorf("token printed although given: %s", p.stdout)
	}
	if p.cluster != "east" {
		t.Errorf("cluster=%s, want east (the first)", p.cluster)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	r := want(t, do(t, c, "GET", p.url+api+"/clusters", "Bearer from-env", "", nil), 200)
	if !strings.Contains(string(r.body), `"name":"east"`) || !strings.Contains(string(r.body), `"name":"west"`) {
		t.Errorf("clusters: %s", r.body)
	}
	// The control surface is off unless asked for.
	want(t, do(t, c, "GET", p.url+"/_emulator/counts", "", "", nil), 404)
	if err := p.stop(os.Interrupt); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
}

// TestKill9KeepsAcknowledgedWrites proves "durable before acknowledged" with
// a real crash: no shutdown code runs after SIGKILL.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-listen", "127.0.0.1:0", "-admin-token", "adm", "-data-dir", dir}
	p := startProc(t, nil, args...)
	c := &http.Client{Timeout: 10 * time.Second}
	admin := basic("", "adm")

	want(t, do(t, c, "POST", p.url+api+"/tenants", admin, "", map[string]any{"name": "team-a", "cluster": "tempo"}), 201)
	want(t, do(t, c, "PUT", p.url+api+"/tenants/team-a", admin, `"1"`, map[string]any{"cluster": "tempo", "display_name": "A"}), 200)
	want(t, do(t, c, "POST", p.url+api+"/tenants", admin, "", map[string]any{"name": "team-b", "cluster": "tempo"}), 201)
	want(t, do(t, c, "DELETE", p.url+api+"/tenants/team-b", admin, `"1"`, nil), 200)
	want(t, do(t, c, "POST", p.url+api+"/accesspolicies", admin, "", map[string]any{
		"name": "p", "realms": []any{map[string]any{"tenant": "team-a", "cluster": "tempo"}}, "scopes": []any{"traces:write"},
	}), 201)
	var tok struct{ Token string }
	_ = json.Unmarshal(want(t, do(t, c, "POST", p.url+api+"/tokens", admin, "", map[string]any{"name": "tok", "access_policy": "p"}), 201).body, &tok)

	paths := []string{"/tenants/team-a", "/tenants/team-b", "/accesspolicies/p", "/tokens/tok"}
	before := map[string]result{}
	for _, path := range paths {
		before[path] = want(t, do(t, c, "GET", p.url+api+path, admin, "", nil), 200)
	}
	err := p.stop(syscall.SIGKILL)
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("process did not die of SIGKILL: %v", err)
	}

	p2 := startProc(t, nil, args...)
	for _, path := range paths {
		r := want(t, do(t, c, "GET", p2.url+api+path, admin, "", nil), 200)
		if r.etag != before[path].etag || string(r.body) != string(before[path].body) {
			t.Errorf("%s after kill -9: ETag %s %s, want ETag %s %s", path, r.etag, r.body, before[path].etag, before[path].body)
		}
	}
	if before["/tenants/team-a"].etag != `"2"` || before["/tenants/team-b"].etag != `"2"` {
		t.Errorf("unexpected versions before the crash: %v", before)
	}
	want(t, do(t, c, "POST", p2.url+"/otlp/v1/traces", basic("team-a", tok.Token), "", map[string]any{}), 200)
	want(t, do(t, c, "POST", p2.url+api+"/tenants", admin, "", map[string]any{"name": "team-b", "cluster": "tempo"}), 409)
	if err := p2.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "test CA", true)
	srvCert, srvKey := newCert(t, ca, caKey, "127.0.0.1", false)
	cliCert, cliKey := newCert(t, ca, caKey, "client", false)
	write := func(name string, blocks ...*pem.Block) string {
		var b bytes.Buffer
		for _, blk := range blocks {
			_ = pem.Encode(&b, blk)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	certPEM := func(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }
	keyPEM := func(k *ecdsa.PrivateKey) *pem.Block {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	}
	caFile := write("ca.pem", certPEM(ca))
	p := startProc(t, nil, "-listen", "127.0.0.1:0", "-admin-token", "adm",
		"-tls-cert", write("srv.pem", certPEM(srvCert)), "-tls-key", write("srv-key.pem", keyPEM(srvKey)),
		"-client-ca", caFile)
	if !strings.HasPrefix(p.url, "https://") {
		t.Fatalf("listening line says %s, want https", p.url)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	noCert := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if res, err := noCert.Get(p.url + api + "/clusters"); err == nil {
		res.Body.Close()
		t.Fatalf("request without a client certificate got %d", res.StatusCode)
	}
	pair, err := tls.X509KeyPair(pem.EncodeToMemory(certPEM(cliCert)), pem.EncodeToMemory(keyPEM(cliKey)))
	if err != nil {
		t.Fatal(err)
	}
	withCert := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}}}
	want(t, do(t, withCert, "GET", p.url+api+"/clusters", basic("", "adm"), "", nil), 200)
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestParseFlags(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == tokenEnv {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name     string
		args     []string
		env      string
		token    string
		clusters []string
		compat   emulator.Compat
		rate     float64
		burst    int
		err      bool
	}{
		{name: "defaults", clusters: []string{"tempo"}},
		{name: "flag beats env", args: []string{"-admin-token", "flag"}, env: "env", token: "flag", clusters: []string{"tempo"}},
		{name: "env", env: "env", token: "env", clusters: []string{"tempo"}},
		{name: "clusters", args: []string{"-cluster", "a,b , c,"}, clusters: []string{"a", "b", "c"}},
		{name: "no cluster", args: []string{"-cluster", ","}, err: true},
		{name: "cert without key", args: []string{"-tls-cert", "x"}, err: true},
		{name: "key without cert", args: []string{"-tls-key", "x"}, err: true},
		{name: "client CA without TLS", args: []string{"-client-ca", "x"}, err: true},
		{name: "stray argument", args: []string{"serve"}, err: true},
		{name: "unknown flag", args: []string{"-nope"}, err: true},
		{name: "compat strict", args: []string{"-compat", "strict"}, clusters: []string{"tempo"}},
		{name: "compat list", args: []string{"-compat", "create-200,text-errors"}, clusters: []string{"tempo"}, compat: emulator.Compat{Create200: true, TextErrors: true}},
		{name: "compat all", args: []string{"-compat", "all"}, clusters: []string{"tempo"}, compat: emulator.Compat{DisplayNameDefault: true, Conflict409: true, Create200: true, Delete204: true, TextErrors: true, OffsetTimes: true}},
		{name: "compat unknown", args: []string{"-compat", "create-201"}, err: true},
		{name: "rate limit", args: []string{"-rate-limit", "200", "-rate-burst", "5"}, clusters: []string{"tempo"}, rate: 200, burst: 5},
		{name: "rate limit below one", args: []string{"-rate-limit", "0.5"}, clusters: []string{"tempo"}, rate: 0.5},
		{name: "negative rate limit", args: []string{"-rate-limit", "-1"}, err: true},
		{name: "NaN rate limit", args: []string{"-rate-limit", "NaN"}, err: true},
		{name: "infinite rate limit", args: []string{"-rate-limit", "+Inf"}, err: true},
		{name: "burst without rate limit", args: []string{"-rate-burst", "5"}, err: true},
		{name: "negative burst", args: []string{"-rate-limit", "10", "-rate-burst", "-1"}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseFlags(tc.args, env(tc.env), io.Discard)
			if tc.err {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.adminToken != tc.token || !slices.Equal(c.clusters, tc.clusters) || c.listen != "127.0.0.1:3100" || c.compat != tc.compat ||
				c.rateLimit != tc.rate || c.rateBurst != tc.burst {
				t.Errorf("got %+v", c)
			}
		})
	}
}

// Without timeouts one slow or idle client holds a connection (and its
// goroutine) forever. A WriteTimeout would cut delay faults short, so there
// is none.
func TestHTTPServerTimeouts(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), log.New(io.Discard, "", 0))
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Fatalf("timeouts not set: read header %v, read %v, idle %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout)
	}
	if srv.ReadHeaderTimeout > srv.ReadTimeout {
		t.Errorf("ReadHeaderTimeout %v exceeds ReadTimeout %v", srv.ReadHeaderTimeout, srv.ReadTimeout)
	}
	if srv.WriteTimeout != 0 {
		t.Errorf("WriteTimeout %v would cut delay faults short", srv.WriteTimeout)
	}
	if srv.Handler == nil || srv.ErrorLog == nil {
		t.Error("handler or error log not set")
	}
}

// The usage text is the only place a user learns the variant names.
func TestUsageDocumentsCompat(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, func(string) string { return "" }, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, name := range append(emulator.CompatVariants(), "-compat", "all", "strict") {
		if !strings.Contains(out.String(), name) {
			t.Errorf("usage lacks %q:\n%s", name, out.String())
		}
	}
	// An unknown variant names the valid ones.
	_, err := parseFlags([]string{"-compat", "nope"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-compat") || !strings.Contains(err.Error(), "create-200") {
		t.Errorf("error %v", err)
	}
}

func TestCompatFlagReachesTheServer(t *testing.T) {
	p := startProc(t, nil, "-listen", "127.0.0.1:0", "-admin-token", "adm", "-compat", "all")
	c := &http.Client{Timeout: 10 * time.Second}
	admin := basic("", "adm")
	r := want(t, do(t, c, "POST", p.url+api+"/tenants", admin, "", map[string]any{"name": "team-a", "cluster": "tempo"}), 200)
	if r.etag != `"1"` {
		t.Errorf("create ETag %q", r.etag)
	}
	want(t, do(t, c, "PUT", p.url+api+"/tenants/team-a", admin, `"7"`, map[string]any{"cluster": "tempo"}), 409)
	r = want(t, do(t, c, "DELETE", p.url+api+"/tenants/team-a", admin, `"1"`, nil), 204)
	if len(r.body) != 0 {
		t.Errorf("204 body %q", r.body)
	}
	r = want(t, do(t, c, "GET", p.url+api+"/tenants/nobody", admin, "", nil), 404)
	if string(r.body) != "tenant \"nobody\" not found\n" {
		t.Errorf("text error body %q", r.body)
	}
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.stderr.String(), "server variants: "+emulator.Compat{DisplayNameDefault: true, Conflict409: true, Create200: true, Delete204: true, TextErrors: true, OffsetTimes: true}.String()) {
		t.Errorf("stderr does not name the variants:\n%s", p.stderr)
	}
}

// The flags reach the server: above the burst, admin requests get 429 with
// a Retry-After; the control surface is never limited and counts them.
func TestRateLimitFlagReachesTheServer(t *testing.T) {
	// One request every 100 s: no refill happens during the test.
	p := startProc(t, nil, "-listen", "127.0.0.1:0", "-admin-token", "adm", "-control", "-rate-limit", "0.01", "-rate-burst", "2")
	c := &http.Client{Timeout: 10 * time.Second}
	admin := basic("", "adm")
	for i := 0; i < 2; i++ {
		want(t, do(t, c, "GET", p.url+api+"/tenants", admin, "", nil), 200)
	}
	req, err := http.NewRequest("GET", p.url+api+"/tenants", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", admin)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "100" {
		t.Fatalf("third request: %d, Retry-After %q; want 429, 100", res.StatusCode, res.Header.Get("Retry-After"))
	}
	r := want(t, do(t, c, "GET", p.url+"/_emulator/counts?by=status", "", "", nil), 200)
	var counts map[string]int
	if err := json.Unmarshal(r.body, &counts); err != nil || counts["200"] != 2 || counts["429"] != 1 {
		t.Errorf("counts by status %s (%v)", r.body, err)
	}
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.stderr.String(), "admin API rate limit: 0.01 requests/s, burst 2") {
		t.Errorf("stderr does not state the limit:\n%s", p.stderr)
	}
}
