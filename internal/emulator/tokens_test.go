package emulator

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTokenCreateAndSecretFormat(t *testing.T) {
	e := newEnv(t)
	e.mkPolicy("p", []string{"traces:read"}, rlm("*", "tempo"))
	exp := testNow.Add(24 * time.Hour).Format(time.RFC3339)
	r := e.want(e.admin("POST", api+"/tokens", map[string]any{
		"name": "tok-1", "display_name": "Token one", "access_policy": "p", "expiration": exp,
	}), http.StatusCreated)
	if r.etag() != `"1"` {
		t.Errorf("ETag %q", r.etag())
	}
	m := r.json(t)
	want := map[string]any{
		"name": "tok-1", "display_name": "Token one", "access_policy": "p", "expiration": exp,
		"status": "active", "created_at": testNow.Format(time.RFC3339),
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	secret, _ := m["token"].(string)
	raw, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		t.Fatalf("secret %q is not standard base64: %v", secret, err)
	}
	name, random, ok := strings.Cut(string(raw), ":")
	if !ok || name != "tok-1" {
		t.Fatalf("decoded secret %q is not \"tok-1:<random>\"", raw)
	}
	if b, err := hex.DecodeString(random); err != nil || len(b) < 32 {
		t.Errorf("random part %q is not >= 32 hex-encoded bytes", random)
	}
	if second := e.mkToken("tok-2", "p", ""); second == secret {
		t.Error("two tokens share a secret")
	}

	// The secret is in the create response only.
	for _, path := range []string{"/tokens/tok-1", "/tokens", "/tokens?include-non-active=true"} {
		g := e.want(e.admin("GET", api+path, nil), http.StatusOK)
		if strings.Contains(string(g.body), `"token":`) || strings.Contains(string(g.body), secret) {
			t.Errorf("GET %s reveals the secret: %s", path, g.body)
		}
	}
	d := e.want(e.adminIfMatch("DELETE", api+"/tokens/tok-1", `"1"`, nil), http.StatusOK)
	if strings.Contains(string(d.body), `"token":`) {
		t.Errorf("DELETE reveals the secret: %s", d.body)
	}
	// No expiration: the field is absent, not an empty string.
	g := e.want(e.admin("GET", api+"/tokens/tok-2", nil), http.StatusOK)
	if _, has := g.json(t)["expiration"]; has {
		t.Errorf("token without expiration carries one: %s", g.body)
	}
}

func TestTokenValidation(t *testing.T) {
	e := newEnv(t)
	e.mkPolicy("p", []string{"traces:read"}, rlm("*", "tempo"))
	e.mkPolicy("gone", []string{"traces:read"}, rlm("*", "tempo"))
	e.del(api + "/accesspolicies/gone")
	future := testNow.Add(time.Hour).Format(time.RFC3339)

	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"1-char name", map[string]any{"name": "a", "access_policy": "p"}, ""},
		{"128-char name", map[string]any{"name": strings.Repeat("t", 128), "access_policy": "p"}, ""},
		{"129-char name", map[string]any{"name": strings.Repeat("t", 129), "access_policy": "p"}, "name"},
		{"empty name", map[string]any{"name": "", "access_policy": "p"}, "name"},
		{"colon in name", map[string]any{"name": "a:b", "access_policy": "p"}, "name"},
		{"policy missing", map[string]any{"name": "t1"}, "access_policy"},
		{"policy unknown", map[string]any{"name": "t2", "access_policy": "nope"}, "access_policy"},
		{"policy inactive", map[string]any{"name": "t3", "access_policy": "gone"}, "access_policy"},
		{"expiration future", map[string]any{"name": "t4", "access_policy": "p", "expiration": future}, ""},
		{"expiration offset form", map[string]any{"name": "t5", "access_policy": "p", "expiration": "2030-01-02T05:04:05+01:00"}, ""},
		{"expiration past", map[string]any{"name": "t6", "access_policy": "p", "expiration": testNow.Add(-time.Hour).Format(time.RFC3339)}, "expiration"},
		{"expiration now", map[string]any{"name": "t7", "access_policy": "p", "expiration": testNow.Format(time.RFC3339)}, "expiration"},
		{"expiration not RFC 3339", map[string]any{"name": "t8", "access_policy": "p", "expiration": "2030-01-03"}, "expiration"},
		{"expiration unix", map[string]any{"name": "t9", "access_policy": "p", "expiration": "1893456000"}, "expiration"},
		{"status inactive", map[string]any{"name": "t10", "access_policy": "p", "status": "inactive"}, "status"},
		{"unknown field", map[string]any{"name": "t11", "access_policy": "p", "token": "mine"}, "token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.admin("POST", api+"/tokens", tc.body)
			if tc.field == "" {
				e.want(r, http.StatusCreated)
				return
			}
			wantField(t, r, tc.field)
		})
	}
	// Expirations come back normalised to UTC seconds.
	g := e.want(e.admin("GET", api+"/tokens/t5", nil), http.StatusOK)
	if got := g.json(t)["expiration"]; got != "2030-01-02T04:04:05Z" {
		t.Errorf("expiration %v, want 2030-01-02T04:04:05Z", got)
	}
}

func TestTokenPutIsNotAllowed(t *testing.T) {
	e := newEnv(t)
	e.mkPolicy("p", []string{"traces:read"}, rlm("*", "tempo"))
	e.mkToken("tok", "p", "")
	for _, path := range []string{"/tokens/tok", "/tokens/never-existed"} {
		for _, ifMatch := range []string{`"1"`, ""} {
			r := e.want(e.adminIfMatch("PUT", api+path, ifMatch, map[string]any{"name": "tok", "access_policy": "p", "display_name": "x"}), http.StatusMethodNotAllowed)
			wantErrorBody(t, r)
		}
	}
	if g := e.want(e.admin("GET", api+"/tokens/tok", nil), http.StatusOK); g.etag() != `"1"` || g.json(t)["display_name"] != "" {
		t.Errorf("PUT changed the token: %s", g.body)
	}
}

func TestExpiredTokenReadsBack(t *testing.T) {
	e := newEnv(t)
	e.mkTenant("team-a", "tempo")
	e.mkPolicy("p", []string{"traces:write"}, rlm("team-a", "tempo"))
	exp := testNow.Add(time.Hour).Format(time.RFC3339)
	secret := e.mkToken("tok", "p", exp)
	e.want(e.data("POST", "/otlp/v1/traces", "team-a", secret), http.StatusOK)

	e.srv.Advance(2 * time.Hour)
	g := e.want(e.admin("GET", api+"/tokens/tok", nil), http.StatusOK)
	if m := g.json(t); m["expiration"] != exp || m["status"] != "active" {
		t.Errorf("expired token reads back as %s", g.body)
	}
	if names := listNames(t, e.want(e.admin("GET", api+"/tokens", nil), http.StatusOK), "token"); len(names) != 1 {
		t.Errorf("expired (but not revoked) token missing from the list: %v", names)
	}
	e.want(e.data("POST", "/otlp/v1/traces", "team-a", secret), http.StatusUnauthorized)
	// The clock moved for creates too: the old expiration is now in the past.
	wantField(t, e.admin("POST", api+"/tokens", map[string]any{"name": "tok-2", "access_policy": "p", "expiration": exp}), "expiration")
}

func TestRevokedTokenStopsAtOnce(t *testing.T) {
	e := newEnv(t)
	e.mkTenant("team-a", "tempo")
	e.mkPolicy("p", []string{"traces:write", "admin:write"}, rlm("team-a", "tempo"))
	secret := e.mkToken("tok", "p", "")
	e.want(e.data("POST", "/otlp/v1/traces", "team-a", secret), http.StatusOK)
	e.want(e.call("GET", api+"/tenants", nil, map[string]string{"Authorization": "Bearer " + secret}), http.StatusOK)

	e.del(api + "/tokens/tok")
	e.want(e.data("POST", "/otlp/v1/traces", "team-a", secret), http.StatusUnauthorized)
	e.want(e.call("GET", api+"/tenants", nil, map[string]string{"Authorization": "Bearer " + secret}), http.StatusUnauthorized)
	// The name can never be reused.
	e.want(e.admin("POST", api+"/tokens", map[string]any{"name": "tok", "access_policy": "p"}), http.StatusConflict)
}
