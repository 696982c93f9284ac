package adminapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

// captureLog collects every debug record the client emits, as text.
type captureLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *captureLog) log(_ context.Context, msg string, fields map[string]any) {
	b, _ := json.Marshal(fields)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, msg+" "+string(b))
}

func (l *captureLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// Neither the admin token nor a token secret may appear in a log record or
// an error, whatever happens.
func TestNoSecretInLogsOrErrors(t *testing.T) {
	emu, srv := startEmulator(t)
	logs := &captureLog{}
	c := newClient(t, srv.URL, func(c *adminapi.Config) { c.Logger = logs.log })

	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "w", Scopes: []string{"traces:write"},
		Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "tempo"}}}); err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	if err != nil {
		t.Fatal(err)
	}
	secret := tok.Secret.Reveal()
	_, err = c.CreateToken(ctx, adminapi.Token{Name: "otel", AccessPolicy: "w"})
	keep(err)
	_, err = c.CreateTenant(ctx, adminapi.Tenant{Name: "X", Cluster: "tempo"})
	keep(err)
	_, err = c.GetTenant(ctx, "missing")
	keep(err)
	emu.InjectFault(emulator.Fault{Method: "GET", Path: tenantsPath, Drop: true, Times: -1})
	_, err = c.ListTenants(ctx, false)
	keep(err)
	emu.Reset()
	emu.InjectFault(emulator.Fault{Method: "POST", Path: "/admin/api/v3/tokens", CommitThenDrop: true})
	_, err = c.CreateToken(ctx, adminapi.Token{Name: "otel-2", AccessPolicy: "w"})
	keep(err)
	emu.Reset()
	keep(c.DeleteToken(ctx, "otel", 0))
	keep(c.DeleteTenant(ctx, "team-a", 0))

	// The token's own secret, used as the admin credential, must not leak
	// from the client that holds it either.
	ro := newClient(t, srv.URL, func(c *adminapi.Config) { c.Token = secret; c.Logger = logs.log })
	_, err = ro.ListTenants(ctx, false)
	keep(err)
	wrong := newClient(t, srv.URL, func(c *adminapi.Config) { c.Token = "wrong-" + adminToken; c.Logger = logs.log })
	_, err = wrong.ListTenants(ctx, false)
	keep(err)

	if len(errs) < 6 {
		t.Fatalf("only %d errors collected: %v", len(errs), errs)
	}
	forbidden := []string{
		adminToken,
		base64.StdEncoding.EncodeToString([]byte(":" + adminToken)),
		secret,
		base64.StdEncoding.EncodeToString([]byte(":" + secret)),
	}
	text := logs.text()
	if !strings.Contains(text, `token\":\"(sensitive)`) {
		t.Errorf("the token create response is not in the log in redacted form:\n%s", text)
	}
	for _, s := range forbidden {
		if strings.Contains(text, s) {
			t.Errorf("a secret appears in the debug log")
		}
		for _, e := range errs {
			if strings.Contains(e.Error(), s) || strings.Contains(fmt.Sprintf("%+v %#v", e, e), s) {
				t.Errorf("a secret appears in error %q", e)
			}
		}
	}
}

func TestSecretDoesNotPrint(t *testing.T) {
	tok := adminapi.Token{Name: "otel", Secret: "c2VjcmV0"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, tok); strings.Contains(out, "c2VjcmV0") {
			t.Errorf("%s prints the secret: %s", f, out)
		}
	}
	if tok.Secret.Reveal() != "c2VjcmV0" {
		t.Fatal("Reveal must return the secret")
	}
}

func TestAdminTokenFromFile(t *testing.T) {
	_, srv := startEmulator(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "token")
	if err := os.WriteFile(f, []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv.URL, func(c *adminapi.Config) { c.Token, c.TokenFile = "", f })
	if _, err := c.ListClusters(ctx); err != nil {
		t.Fatalf("token from a file (with a trailing newline, as Secrets often have): %v", err)
	}

	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, nil, 0o600)
	for _, tc := range []struct {
		cfg  adminapi.Config
		want string
	}{
		{adminapi.Config{TokenFile: filepath.Join(dir, "missing")}, "token_file"},
		{adminapi.Config{TokenFile: empty}, "empty"},
		{adminapi.Config{}, "admin token is required"},
		{adminapi.Config{Token: "a", TokenFile: f}, "only one"},
	} {
		tc.cfg.URL = srv.URL
		_, err := adminapi.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

func TestUserAgentAndBasicAuth(t *testing.T) {
	emu, _ := startEmulator(t)
	rec := &headerRecorder{next: emu}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c := newClient(t, srv.URL, func(c *adminapi.Config) { c.UserAgent = "terraform-provider-tempo/1.2.3" })
	if _, err := c.ListClusters(ctx); err != nil {
		t.Fatal(err)
	}
	if ua := rec.last.Get("User-Agent"); ua != "terraform-provider-tempo/1.2.3" {
		t.Errorf("User-Agent = %q", ua)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+adminToken))
	if rec.last.Get("Authorization") != want {
		t.Errorf("Authorization is not Basic with an empty user and the admin token")
	}
}

// A server (or a proxy in front of it) that echoes credentials back in
// response headers must not get the admin token into the debug log, in any
// encoding, nor may the logged URL carry it.
func TestEchoedTokenIsScrubbedFromTheLog(t *testing.T) {
	const token = "tok/en+with=odd chars&0123456789"
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+token))
	forms := []string{token, url.QueryEscape(token), url.PathEscape(token),
		strings.ToLower(url.QueryEscape(token)), auth[len("Basic "):], url.QueryEscape(auth[len("Basic "):]),
		strings.ReplaceAll(token, "&", `\u0026`)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Authorization", r.Header.Get("Authorization"))
		w.Header().Set("X-Debug", "seen token "+token)
		w.Header().Add("X-Debug", "escaped "+url.QueryEscape(token))
		w.Header().Set("X-Lower", strings.ToLower(url.QueryEscape(token)))
		w.Header().Set("X-Path", "/"+url.PathEscape(token)+"/")
		w.Header().Set("X-Auth-Escaped", url.QueryEscape(auth))
		w.Header().Set("Content-Type", "application/json")
		echo, _ := json.Marshal(token)
		_, _ = io.WriteString(w, `{"type":"cluster","items":[],"echo":`+string(echo)+`}`)
	}))
	defer srv.Close()
	logs := &captureLog{}
	var fields []map[string]any
	var mu sync.Mutex
	c := newClient(t, srv.URL+"/gw/"+url.PathEscape(token), func(c *adminapi.Config) {
		c.Token = token
		c.Logger = func(ctx context.Context, msg string, f map[string]any) {
			mu.Lock()
			fields = append(fields, f)
			mu.Unlock()
			logs.log(ctx, msg, f)
		}
	})
	if _, err := c.ListClusters(ctx); err != nil {
		t.Fatal(err)
	}
	if len(fields) != 1 {
		t.Fatalf("%d log records, want 1", len(fields))
	}
	// Checked on the values themselves, before JSON escapes "&" and "+".
	text := fmt.Sprint(fields[0]) + logs.text()
	if !strings.Contains(text, "X-Debug") {
		t.Fatalf("the response headers are not in the log: %s", text)
	}
	for _, f := range forms {
		if strings.Contains(text, f) {
			t.Errorf("the log carries the admin token as %q:\n%s", f, text)
		}
	}
}

// encoding/json matches object keys to struct fields without regard to
// case (Unicode simple folding: "TOKEN", "Token", "toKen" with the Kelvin
// sign, "ſecret" with the long s), so a server that spells the key another
// way still hands the client the secret. No such spelling may carry it
// into a log record, at any depth of the body.
func TestTokenSecretUnderAnySpellingIsRedacted(t *testing.T) {
	const secret = "dGVhbS1hLW90ZWw6c2VjcmV0LXZhbHVlLTQ4MjE="
	const other = "dGVhbS1hLW90ZWw6b3RoZXItdmFsdWUtOTkxNw=="
	for _, key := range []string{"token", "Token", "TOKEN", "toKen", "tO\u212aen", "Secret", "\u017fecret", "PASSWORD"} {
		t.Run(key, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("ETag", `"1"`)
				w.WriteHeader(http.StatusCreated)
				k, _ := json.Marshal(key)
				plain := ""
				if !strings.EqualFold(key, "token") {
					plain = fmt.Sprintf(`"token":%q,`, other)
				}
				_, _ = fmt.Fprintf(w, `{"name":"team-a-otel","access_policy":"w","status":"active",%s"nested":[{%s:%q}],%s:%q}`, plain, k, secret, k, secret)
			}))
			defer srv.Close()
			logs := &captureLog{}
			c := newClient(t, srv.URL, func(c *adminapi.Config) { c.Logger = logs.log })
			tk, err := c.CreateToken(ctx, adminapi.Token{Name: "team-a-otel", AccessPolicy: "w"})
			if err != nil {
				t.Fatal(err)
			}
			if strings.EqualFold(key, "token") && tk.Secret.Reveal() != secret {
				t.Errorf("the client did not decode the secret under %q", key)
			}
			text := logs.text()
			if !strings.Contains(text, "team-a-otel") {
				t.Fatalf("the response body is not in the log: %s", text)
			}
			if strings.Contains(text, secret) || strings.Contains(text, other) {
				t.Errorf("the log carries a token secret sent under %q:\n%s", key, text)
			}
		})
	}
}
