package emulator

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestDataPath(t *testing.T) {
	e := newEnv(t) // clusters: tempo (this one), other
	for _, n := range []string{"team-a", "team-b", "team-d"} {
		e.mkTenant(n, "tempo")
	}
	e.mkTenant("team-c", "other")

	e.mkPolicy("writer", []string{"traces:write"}, rlm("team-a", "tempo"))
	e.mkPolicy("reader-ab", []string{"traces:read"}, rlm("team-a", "tempo"), rlm("team-b", "tempo"))
	e.mkPolicy("reader-a", []string{"traces:read"}, rlm("team-a", "tempo"))
	e.mkPolicy("star", []string{"traces:read", "traces:write"}, rlm("*", "tempo"))
	e.mkPolicy("other-cluster", []string{"traces:read", "traces:write"}, rlm("team-a", "other"), rlm("*", "other"))
	e.mkPolicy("to-disable", []string{"traces:write"}, rlm("team-a", "tempo"))
	e.mkPolicy("admin-only", []string{"admin:write"}, rlm("*", "tempo"))

	secrets := map[string]string{}
	for tok, pol := range map[string]string{
		"writer": "writer", "reader-ab": "reader-ab", "reader-a": "reader-a", "star": "star",
		"other-cluster": "other-cluster", "to-disable": "to-disable", "revoked": "writer", "admin-only": "admin-only",
	} {
		secrets[tok] = e.mkToken(tok, pol, "")
	}
	e.del(api + "/accesspolicies/to-disable")
	e.del(api + "/tokens/revoked")
	e.del(api + "/tenants/team-d")

	tampered := []byte(secrets["writer"])
	raw, _ := base64.StdEncoding.DecodeString(string(tampered))
	raw[len(raw)-1] ^= 1
	badSecret := base64.StdEncoding.EncodeToString(raw)

	const write, search = "/otlp/v1/traces", "/api/search"
	for _, tc := range []struct {
		name   string
		method string
		path   string
		tenant string
		secret string
		status int
	}{
		{"write allowed", "POST", write, "team-a", secrets["writer"], 200},
		{"write wrong tenant", "POST", write, "team-b", secrets["writer"], 403},
		{"write scope missing", "POST", write, "team-a", secrets["reader-a"], 403},
		{"search scope missing", "GET", search, "team-a", secrets["writer"], 403},
		{"search allowed", "GET", search, "team-a", secrets["reader-a"], 200},
		{"multi-tenant search allowed", "GET", search, "team-a|team-b", secrets["reader-ab"], 200},
		{"multi-tenant search needs every tenant", "GET", search, "team-a|team-b", secrets["reader-a"], 403},
		{"multi-tenant search with an unknown tenant", "GET", search, "team-a|nobody", secrets["star"], 403},
		{"wildcard realm write", "POST", write, "team-b", secrets["star"], 200},
		{"wildcard realm search", "GET", search, "team-a|team-b", secrets["star"], 200},
		{"wildcard realm, tenant does not exist", "POST", write, "nobody", secrets["star"], 403},
		{"wildcard realm, built-in tenant", "POST", write, systemTenant, secrets["star"], 200},
		{"tenant of another cluster", "POST", write, "team-c", secrets["star"], 403},
		{"realm for another cluster", "POST", write, "team-a", secrets["other-cluster"], 403},
		{"realm for another cluster, its own tenant", "POST", write, "team-c", secrets["other-cluster"], 403},
		{"inactive tenant", "POST", write, "team-d", secrets["star"], 403},
		{"inactive policy", "POST", write, "team-a", secrets["to-disable"], 403},
		{"revoked token", "POST", write, "team-a", secrets["revoked"], 401},
		{"admin scope is not a data scope", "POST", write, "team-a", secrets["admin-only"], 403},
		{"tampered secret", "POST", write, "team-a", badSecret, 401},
		{"garbage secret", "POST", write, "team-a", "not-base64!", 401},
		{"secret of unknown token", "POST", write, "team-a", base64.StdEncoding.EncodeToString([]byte("ghost:abcd")), 401},
		{"bootstrap admin token", "POST", write, "team-a", testAdminToken, 401},
		{"no credential", "POST", write, "", "", 401},
		{"no tenant", "POST", write, "", secrets["writer"], 401},
		{"wrong method", "GET", write, "team-a", secrets["writer"], 405},
		{"wrong method search", "POST", search, "team-a", secrets["reader-a"], 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.want(e.data(tc.method, tc.path, tc.tenant, tc.secret), tc.status)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			switch {
			case tc.status != 200:
				wantErrorBody(t, r)
			case tc.path == write && strings.TrimSpace(string(r.body)) != "{}":
				t.Errorf("write body %s, want {}", r.body)
			case tc.path == search && strings.TrimSpace(string(r.body)) != `{"traces":[]}`:
				t.Errorf("search body %s, want {\"traces\":[]}", r.body)
			}
		})
	}

	// Bearer is not a data-path credential: the tenant comes from Basic auth.
	e.want(e.call("POST", write, "{}", map[string]string{"Authorization": "Bearer " + secrets["writer"]}), 401)

	// Re-activating the tenant and the policy restores access at once.
	e.want(e.adminIfMatch("PUT", api+"/tenants/team-d", `"2"`, map[string]any{"cluster": "tempo", "status": "active"}), 200)
	e.want(e.data("POST", write, "team-d", secrets["star"]), 200)
	e.want(e.adminIfMatch("PUT", api+"/accesspolicies/to-disable", `"2"`, map[string]any{
		"realms": []any{rlm("team-a", "tempo")}, "scopes": []any{"traces:write"}, "status": "active",
	}), 200)
	e.want(e.data("POST", write, "team-a", secrets["to-disable"]), 200)
}

// The realm must name this emulator's cluster, which is the first one.
func TestDataPathUsesFirstCluster(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Clusters = []string{"other", "tempo"} })
	e.mkTenant("team-c", "other")
	e.mkTenant("team-a", "tempo")
	e.mkPolicy("p", []string{"traces:write"}, rlm("*", "other"), rlm("*", "tempo"))
	s := e.mkToken("tok", "p", "")
	e.want(e.data("POST", "/otlp/v1/traces", "team-c", s), 200)
	e.want(e.data("POST", "/otlp/v1/traces", "team-a", s), 403)
}

func TestDataPathExpiredToken(t *testing.T) {
	e := newEnv(t)
	e.mkTenant("team-a", "tempo")
	e.mkPolicy("p", []string{"traces:read"}, rlm("team-a", "tempo"))
	s := e.mkToken("tok", "p", testNow.Add(time.Minute).Format(time.RFC3339))
	e.want(e.data("GET", "/api/search", "team-a", s), 200)
	e.srv.Advance(59 * time.Second)
	e.want(e.data("GET", "/api/search", "team-a", s), 200)
	e.srv.Advance(time.Second)
	e.want(e.data("GET", "/api/search", "team-a", s), 401)
}

func TestAPITokensAsAdminCredentials(t *testing.T) {
	e := newEnv(t)
	e.mkPolicy("admin-read", []string{"admin:read"}, rlm("*", "tempo"))
	e.mkPolicy("admin-write", []string{"admin:write"}, rlm("*", "tempo"))
	e.mkPolicy("traces-only", []string{"traces:read", "traces:write"}, rlm("*", "tempo"))
	e.mkPolicy("to-disable", []string{"admin:write"}, rlm("*", "tempo"))
	read := e.mkToken("reader", "admin-read", "")
	write := e.mkToken("writer", "admin-write", "")
	plain := e.mkToken("plain", "traces-only", "")
	disabled := e.mkToken("disabled", "to-disable", "")
	expiring := e.mkToken("expiring", "admin-write", testNow.Add(time.Hour).Format(time.RFC3339))
	revoked := e.mkToken("revoked", "admin-write", "")
	e.del(api + "/tokens/revoked")
	e.del(api + "/accesspolicies/to-disable")

	as := func(secret, method, path string, body any, ifMatch string) resp {
		return e.call(method, path, body, map[string]string{"Authorization": basicAuth("", secret), "If-Match": ifMatch})
	}
	tenant := func(n string) map[string]any { return map[string]any{"name": n, "cluster": "tempo"} }

	// admin:read: GET only.
	e.want(as(read, "GET", api+"/tenants", nil, ""), 200)
	e.want(as(read, "GET", api+"/clusters/tempo", nil, ""), 200)
	e.want(as(read, "GET", api+"/tokens", nil, ""), 200)
	wantErrorBody(t, e.want(as(read, "POST", api+"/tenants", tenant("by-reader"), ""), 403))
	e.want(e.admin("GET", api+"/tenants/by-reader", nil), 404)
	e.want(as(read, "DELETE", api+"/tokens/plain", nil, `"1"`), 403)
	e.want(as(read, "PUT", api+"/accesspolicies/admin-read", map[string]any{}, `"1"`), 403)
	// Bearer works as well as Basic.
	e.want(e.call("GET", api+"/tenants", nil, map[string]string{"Authorization": "Bearer " + read}), 200)

	// admin:write: everything.
	e.want(as(write, "POST", api+"/tenants", tenant("by-writer"), ""), 201)
	e.want(as(write, "PUT", api+"/tenants/by-writer", map[string]any{"cluster": "tempo", "display_name": "x"}, `"1"`), 200)
	e.want(as(write, "DELETE", api+"/tenants/by-writer", nil, `"2"`), 200)
	e.want(as(write, "GET", api+"/tenants", nil, ""), 200)

	// No admin scope, or a policy no longer active: 403.
	wantErrorBody(t, e.want(as(plain, "GET", api+"/tenants", nil, ""), 403))
	e.want(as(disabled, "GET", api+"/tenants", nil, ""), 403)

	// Revoked or expired: the credential is gone, 401.
	wantErrorBody(t, e.want(as(revoked, "GET", api+"/tenants", nil, ""), 401))
	e.want(as(expiring, "GET", api+"/tenants", nil, ""), 200)
	e.srv.Advance(time.Hour)
	e.want(as(expiring, "GET", api+"/tenants", nil, ""), 401)

	// A write token can revoke itself, after which it stops working.
	e.want(as(write, "DELETE", api+"/tokens/writer", nil, `"1"`), 200)
	e.want(as(write, "GET", api+"/tenants", nil, ""), 401)
}
