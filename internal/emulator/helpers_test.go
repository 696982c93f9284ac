package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testAdminToken = "bootstrap-admin-token"

// testNow is a fixed clock so timestamps and expirations are exact.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type env struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server
	// client never reuses connections, so a dropped connection is not
	// silently retried by the transport and counted twice.
	client *http.Client
}

func newEnv(t *testing.T, mods ...func(*Options)) *env {
	t.Helper()
	opts := Options{
		AdminToken: testAdminToken,
		Clusters:   []string{"tempo", "other"},
		Control:    true,
		Now:        func() time.Time { return testNow },
	}
	for _, m := range mods {
		m(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	return &env{
		t:      t,
		srv:    srv,
		ts:     ts,
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second},
	}
}

type resp struct {
	status int
	header http.Header
	body   []byte
	err    error // transport error, e.g. a dropped connection
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (r resp) etag() string { return r.header.Get("ETag") }

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func adminAuth() string { return basicAuth("", testAdminToken) }

// call sends a request. Unless hdr sets "Authorization" (an empty value means
// "send none"), it authenticates with the bootstrap admin token.
func (e *env) call(method, path string, body any, hdr map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", adminAuth())
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := e.client.Do(req)
	if err != nil {
		return resp{err: err}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: data, err: err}
}

func (e *env) admin(method, path string, body any) resp {
	e.t.Helper()
	return e.call(method, path, body, nil)
}

func (e *env) adminIfMatch(method, path, ifMatch string, body any) resp {
	e.t.Helper()
	return e.call(method, path, body, map[string]string{"If-Match": ifMatch})
}

func (e *env) want(r resp, status int) resp {
	e.t.Helper()
	if r.err != nil {
		e.t.Fatalf("request failed: %v", r.err)
	}
	if r.status != status {
		e.t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

const api = "/admin/api/v3"

func (e *env) mkTenant(name, cluster string) {
	e.t.Helper()
	e.want(e.admin("POST", api+"/tenants", map[string]any{"name": name, "cluster": cluster}), http.StatusCreated)
}

func (e *env) mkPolicy(name string, scopes []string, realms ...map[string]any) {
	e.t.Helper()
	e.want(e.admin("POST", api+"/accesspolicies", map[string]any{"name": name, "realms": realms, "scopes": scopes}), http.StatusCreated)
}

func rlm(tenant, cluster string) map[string]any {
	return map[string]any{"tenant": tenant, "cluster": cluster}
}

// mkToken returns the secret from the create response.
func (e *env) mkToken(name, policy, expiration string) string {
	e.t.Helper()
	body := map[string]any{"name": name, "access_policy": policy}
	if expiration != "" {
		body["expiration"] = expiration
	}
	r := e.want(e.admin("POST", api+"/tokens", body), http.StatusCreated)
	secret, _ := r.json(e.t)["token"].(string)
	if secret == "" {
		e.t.Fatalf("no token in create response: %s", r.body)
	}
	return secret
}

func (e *env) del(path string) resp {
	e.t.Helper()
	cur := e.want(e.admin("GET", path, nil), http.StatusOK)
	return e.want(e.adminIfMatch("DELETE", path, cur.etag(), nil), http.StatusOK)
}

// data sends a data-path request with Basic auth user=tenant, password=secret.
func (e *env) data(method, path, tenant, secret string) resp {
	e.t.Helper()
	hdr := map[string]string{"Authorization": ""}
	if tenant != "" || secret != "" {
		hdr["Authorization"] = basicAuth(tenant, secret)
	}
	var body any
	if method == "POST" {
		body = `{"resourceSpans":[]}`
	}
	return e.call(method, path, body, hdr)
}

func wantErrorBody(t *testing.T, r resp) map[string]any {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	m := r.json(t)
	if msg, _ := m["error"].(string); msg == "" {
		t.Errorf("error body has no \"error\" message: %s", r.body)
	}
	return m
}

func wantField(t *testing.T, r resp, field string) {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 for field %s; body %s", r.status, field, r.body)
	}
	m := wantErrorBody(t, r)
	if got, _ := m["field"].(string); got != field {
		t.Errorf("field %q, want %q; body %s", got, field, r.body)
	}
	if msg, _ := m["error"].(string); !strings.HasPrefix(msg, field+": ") {
		t.Errorf("error %q does not start with %q", msg, field+": ")
	}
}

func listNames(t *testing.T, r resp, wantType string) []string {
	t.Helper()
	var l struct {
		Type  string           `json:"type"`
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("list: %v: %s", err, r.body)
	}
	if l.Type != wantType {
		t.Errorf("list type %q, want %q", l.Type, wantType)
	}
	names := make([]string, 0, len(l.Items))
	for _, it := range l.Items {
		names = append(names, it["name"].(string))
	}
	return names
}
