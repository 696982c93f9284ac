package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFaultStatusWithRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.srv.InjectFault(Fault{Method: "POST", Path: api + "/tenants", Status: 429, RetryAfter: "7"})
	body := map[string]any{"name": "team-a", "cluster": "tempo"}

	r := e.want(e.admin("POST", api+"/tenants", body), 429)
	if got := r.header.Get("Retry-After"); got != "7" {
		t.Errorf("Retry-After %q, want 7", got)
	}
	if m := wantErrorBody(t, r); m["error"] != "injected fault" {
		t.Errorf("body %s", r.body)
	}
	// The faulted request was not handled.
	e.want(e.admin("GET", api+"/tenants/team-a", nil), 404)
	// Times defaults to 1: the retry succeeds.
	e.want(e.admin("POST", api+"/tenants", body), 201)
}

func TestFaultTimes(t *testing.T) {
	e := newEnv(t)
	path := api + "/clusters"
	e.srv.InjectFault(Fault{Path: path, Status: 503, Times: 3})
	for i := 0; i < 3; i++ {
		e.want(e.admin("GET", path, nil), 503)
	}
	e.want(e.admin("GET", path, nil), 200)

	e.srv.InjectFault(Fault{Path: path, Status: 502, Times: -1})
	for i := 0; i < 10; i++ {
		e.want(e.admin("GET", path, nil), 502)
	}
	e.srv.Reset()
	e.want(e.admin("GET", path, nil), 200)
}

func TestFaultMatching(t *testing.T) {
	e := newEnv(t)
	e.mkTenant("team-a", "tempo")
	e.srv.InjectFault(Fault{Method: "DELETE", Path: api + "/tenants/*", Status: 503, Times: -1})
	e.srv.InjectFault(Fault{Path: "/api/*", Status: 504, Times: -1})

	e.want(e.admin("GET", api+"/tenants/team-a", nil), 200) // method differs
	e.want(e.admin("GET", api+"/tenants", nil), 200)        // prefix differs
	e.want(e.adminIfMatch("DELETE", api+"/tenants/team-a", `"1"`, nil), 503)
	e.want(e.adminIfMatch("DELETE", api+"/tenants/nobody", `"1"`, nil), 503)
	e.want(e.data("GET", "/api/search", "team-a", "x"), 504)      // any method
	e.want(e.data("POST", "/otlp/v1/traces", "team-a", "x"), 401) // not matched

	// An exact path does not match longer paths.
	e.srv.Reset()
	e.srv.InjectFault(Fault{Path: api + "/tenants", Status: 500, Times: -1})
	e.want(e.admin("GET", api+"/tenants/team-a", nil), 200)
	e.want(e.admin("GET", api+"/tenants", nil), 500)
}

func TestFaultDelay(t *testing.T) {
	e := newEnv(t)
	const d = 300 * time.Millisecond
	e.srv.InjectFault(Fault{Method: "POST", Path: api + "/tenants", Delay: d})
	start := time.Now()
	e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}), 201)
	if el := time.Since(start); el < d {
		t.Errorf("answered after %v, want >= %v", el, d)
	}
	e.want(e.admin("GET", api+"/tenants/team-a", nil), 200)

	// Delay combined with a status delays, then answers with the status.
	e.srv.InjectFault(Fault{Path: api + "/clusters", Delay: d, Status: 503})
	start = time.Now()
	e.want(e.admin("GET", api+"/clusters", nil), 503)
	if el := time.Since(start); el < d {
		t.Errorf("answered after %v, want >= %v", el, d)
	}

	// A client that gives up during the delay gets nothing committed.
	e.srv.InjectFault(Fault{Method: "POST", Path: api + "/tenants", Delay: 500 * time.Millisecond})
	c := &http.Client{Timeout: 100 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest("POST", e.ts.URL+api+"/tenants", strings.NewReader(`{"name":"team-b","cluster":"tempo"}`))
	req.Header.Set("Authorization", adminAuth())
	if res, err := c.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("expected a client timeout, got %d", res.StatusCode)
	}
	time.Sleep(700 * time.Millisecond) // past the delay: a handled request would have committed
	e.want(e.admin("GET", api+"/tenants/team-b", nil), 404)
}

func TestFaultDrop(t *testing.T) {
	e := newEnv(t)
	e.srv.InjectFault(Fault{Method: "POST", Path: api + "/tenants", Drop: true})
	r := e.admin("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"})
	if r.err == nil {
		t.Fatalf("dropped request got a response: %d %s", r.status, r.body)
	}
	// Drop means not handled: nothing was committed.
	e.want(e.admin("GET", api+"/tenants/team-a", nil), 404)
	e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}), 201)
}

func TestFaultCommitThenDrop(t *testing.T) {
	e := newEnv(t)
	e.mkPolicy("p", []string{"traces:read"}, rlm("*", "tempo"))
	for _, tc := range []struct {
		path string
		body map[string]any
	}{
		{"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}},
		{"/accesspolicies", map[string]any{"name": "p2", "realms": []any{rlm("*", "tempo")}, "scopes": []any{"traces:read"}}},
		{"/tokens", map[string]any{"name": "tok", "access_policy": "p"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			e.srv.InjectFault(Fault{Method: "POST", Path: api + tc.path, CommitThenDrop: true})
			r := e.admin("POST", api+tc.path, tc.body)
			if r.err == nil {
				t.Fatalf("response was not dropped: %d %s", r.status, r.body)
			}
			// The object was committed although the client never heard so.
			g := e.want(e.admin("GET", api+tc.path+"/"+tc.body["name"].(string), nil), 200)
			if g.etag() != `"1"` || g.json(t)["status"] != "active" {
				t.Errorf("committed object: ETag %s %s", g.etag(), g.body)
			}
			e.want(e.admin("POST", api+tc.path, tc.body), 409)
		})
	}
	// Also for an update: the version moved even though the answer was lost.
	e.srv.InjectFault(Fault{Method: "PUT", Path: api + "/tenants/team-a", CommitThenDrop: true})
	if r := e.adminIfMatch("PUT", api+"/tenants/team-a", `"1"`, map[string]any{"cluster": "tempo", "display_name": "A"}); r.err == nil {
		t.Fatalf("response was not dropped: %d", r.status)
	}
	e.want(e.adminIfMatch("PUT", api+"/tenants/team-a", `"1"`, map[string]any{"cluster": "tempo", "display_name": "A"}), 412)
}

func TestCountsAndReset(t *testing.T) {
	e := newEnv(t)
	e.mkTenant("team-a", "tempo")
	e.admin("GET", api+"/tenants/team-a", nil)
	e.admin("GET", api+"/tenants/team-a", nil)
	e.call("GET", api+"/tenants", nil, map[string]string{"Authorization": ""}) // 401 still counts
	e.srv.InjectFault(Fault{Path: api + "/clusters", Status: 503})
	e.admin("GET", api+"/clusters", nil) // faulted still counts
	e.data("GET", "/api/search", "team-a", "x")
	e.admin("GET", "/nowhere", nil)
	e.call("GET", "/_emulator/counts", nil, nil) // never counted

	want := map[string]int{
		"POST " + api + "/tenants":       1,
		"GET " + api + "/tenants/team-a": 2,
		"GET " + api + "/tenants":        1,
		"GET " + api + "/clusters":       1,
		"GET /api/search":                1,
		"GET /nowhere":                   1,
	}
	got := e.srv.Counts()
	if len(got) != len(want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("count[%q] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	// Counts returns a copy.
	got["GET /nowhere"] = 99
	if e.srv.Counts()["GET /nowhere"] != 1 {
		t.Error("Counts exposes internal state")
	}

	e.srv.InjectFault(Fault{Path: "*", Status: 500, Times: -1})
	e.srv.Reset()
	if c := e.srv.Counts(); len(c) != 0 {
		t.Errorf("counts after Reset: %v", c)
	}
	// Faults are gone, objects are kept.
	e.want(e.admin("GET", api+"/tenants/team-a", nil), 200)
}

func TestControlSurfaceOverHTTP(t *testing.T) {
	e := newEnv(t)
	noAuth := map[string]string{"Authorization": ""}

	r := e.want(e.call("POST", "/_emulator/faults", map[string]any{"method": "GET", "path": api + "/clusters", "status": 503, "retry_after": "3", "times": 2}, noAuth), 204)
	_ = r
	r = e.want(e.admin("GET", api+"/clusters", nil), 503)
	if r.header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	e.want(e.admin("GET", api+"/clusters", nil), 503)
	e.want(e.admin("GET", api+"/clusters", nil), 200)

	// delay_ms and delay (nanoseconds) are both understood.
	for _, f := range []map[string]any{
		{"path": api + "/tenants", "delay_ms": 200},
		{"path": api + "/tenants", "delay": int64(200 * time.Millisecond)},
	} {
		e.want(e.call("POST", "/_emulator/faults", f, noAuth), 204)
		start := time.Now()
		e.want(e.admin("GET", api+"/tenants", nil), 200)
		if el := time.Since(start); el < 200*time.Millisecond {
			t.Errorf("fault %v: answered after %v", f, el)
		}
	}
	e.want(e.call("POST", "/_emulator/faults", map[string]any{"path": api + "/tenants", "drop": true}, noAuth), 204)
	if r := e.admin("GET", api+"/tenants", nil); r.err == nil {
		t.Error("drop fault injected over HTTP did not drop")
	}
	e.want(e.call("POST", "/_emulator/faults", map[string]any{"path": api + "/tenants", "commit_then_drop": true}, noAuth), 204)
	if r := e.admin("POST", api+"/tenants", map[string]any{"name": "team-z", "cluster": "tempo"}); r.err == nil {
		t.Error("commit_then_drop fault injected over HTTP did not drop")
	}
	e.want(e.admin("GET", api+"/tenants/team-z", nil), 200)

	for _, bad := range []any{"{", map[string]any{"status": 503}, map[string]any{"path": "/x", "bogus": 1}, map[string]any{"path": "/x", "status": 42}} {
		e.want(e.call("POST", "/_emulator/faults", bad, noAuth), 400)
	}

	r = e.want(e.call("GET", "/_emulator/counts", nil, noAuth), 200)
	var counts map[string]int
	if err := json.Unmarshal(r.body, &counts); err != nil {
		t.Fatalf("counts: %v: %s", err, r.body)
	}
	if counts["GET "+api+"/clusters"] != 3 {
		t.Errorf("counts over HTTP: %v", counts)
	}
	e.want(e.call("POST", "/_emulator/reset", nil, noAuth), 204)
	if c := e.srv.Counts(); len(c) != 0 {
		t.Errorf("counts after reset over HTTP: %v", c)
	}

	// The clock: advance past a token's expiration.
	e.mkTenant("team-a", "tempo")
	e.mkPolicy("p", []string{"traces:write"}, rlm("team-a", "tempo"))
	s := e.mkToken("tok", "p", testNow.Add(time.Hour).Format(time.RFC3339))
	e.want(e.data("POST", "/otlp/v1/traces", "team-a", s), 200)
	r = e.want(e.call("POST", "/_emulator/clock", map[string]any{"advance_seconds": 3600}, noAuth), 200)
	if r.json(t)["now"] != testNow.Add(time.Hour).Format(time.RFC3339) {
		t.Errorf("clock answer %s", r.body)
	}
	e.want(e.data("POST", "/otlp/v1/traces", "team-a", s), 401)
	e.want(e.call("POST", "/_emulator/clock", map[string]any{"advance_seconds": -1}, noAuth), 400)
	e.want(e.call("POST", "/_emulator/clock", map[string]any{}, noAuth), 400)

	e.want(e.call("GET", "/_emulator/faults", nil, noAuth), 405)
	e.want(e.call("POST", "/_emulator/counts", nil, noAuth), 405)
	e.want(e.call("GET", "/_emulator/nothing", nil, noAuth), 404)
	if c := e.srv.Counts(); len(c) == 0 {
		t.Error("admin requests after reset not counted")
	} else {
		for k := range c {
			if strings.Contains(k, "/_emulator") {
				t.Errorf("control request counted: %s", k)
			}
		}
	}
}

func TestControlSurfaceDisabled(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Control = false })
	for _, tc := range []struct{ method, path string }{
		{"POST", "/_emulator/faults"},
		{"GET", "/_emulator/counts"},
		{"POST", "/_emulator/reset"},
		{"POST", "/_emulator/clock"},
		{"GET", "/_emulator"},
	} {
		r := e.want(e.call(tc.method, tc.path, map[string]any{"path": "*", "status": 500, "advance_seconds": 1e6}, nil), 404)
		wantErrorBody(t, r)
	}
	// Nothing took effect.
	e.want(e.admin("GET", api+"/tenants", nil), 200)
	if c := e.srv.Counts(); len(c) != 1 {
		t.Errorf("counts %v: control requests must not count", c)
	}
}

// A fault is meant for the client under test: a stray unauthenticated or
// unauthorized request (a probe, a misconfigured second client) must not
// use it up, or the real client never sees it.
func TestFaultsAreOnlyConsumedByAuthorizedAdminRequests(t *testing.T) {
	e := newEnv(t)
	e.mkTenant("team-a", "tempo")
	e.mkPolicy("reader", []string{"admin:read"}, rlm("*", "tempo"))
	reader := basicAuth("", e.mkToken("reader", "reader", ""))
	e.srv.Reset()

	e.srv.InjectFault(Fault{Path: api + "/tenants", Status: 503, Times: 2})
	for _, auth := range []string{"", basicAuth("", "wrong"), "Bearer wrong"} {
		e.want(e.call("GET", api+"/tenants", nil, map[string]string{"Authorization": auth}), 401)
	}
	// Authenticated but refused: a read-only token cannot create.
	e.want(e.call("POST", api+"/tenants", map[string]any{"name": "team-b", "cluster": "tempo"}, map[string]string{"Authorization": reader}), 403)
	e.want(e.call("GET", api+"/tenants", nil, map[string]string{"Authorization": reader}), 503)
	e.want(e.admin("GET", api+"/tenants", nil), 503)
	e.want(e.admin("GET", api+"/tenants", nil), 200)

	// Drop faults too: a refused request gets its answer, not a dropped connection.
	e.srv.InjectFault(Fault{Path: api + "/tenants/team-a", Drop: true})
	e.want(e.call("GET", api+"/tenants/team-a", nil, map[string]string{"Authorization": ""}), 401)
	if r := e.admin("GET", api+"/tenants/team-a", nil); r.err == nil {
		t.Fatalf("the authorized request was not dropped: %d %s", r.status, r.body)
	}

	// Refused requests are still counted.
	if got := e.srv.Counts(); got["GET "+api+"/tenants"] != 6 || got["POST "+api+"/tenants"] != 1 || got["GET "+api+"/tenants/team-a"] != 2 {
		t.Errorf("counts %v", got)
	}
}

// The standalone server sets a ReadTimeout. A read deadline passing while a
// handler waits would cancel the request's context and cut a delay fault
// short; net/http clears the deadline once the body is read, and this test
// guards that the emulator keeps relying on it safely.
func TestFaultDelayOutlastsReadTimeout(t *testing.T) {
	srv, err := New(Options{AdminToken: testAdminToken, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ReadTimeout = 100 * time.Millisecond
	ts.Start()
	t.Cleanup(ts.Close)
	e := &env{t: t, srv: srv, ts: ts, client: &http.Client{Timeout: 10 * time.Second}}

	srv.InjectFault(Fault{Method: "POST", Path: api + "/tenants", Delay: 400 * time.Millisecond})
	r := e.want(e.admin("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}), 201)
	if r.json(t)["name"] != "team-a" {
		t.Errorf("body %s", r.body)
	}
	srv.InjectFault(Fault{Path: api + "/clusters", Delay: 400 * time.Millisecond, Status: 503})
	e.want(e.admin("GET", api+"/clusters", nil), 503)
	// The connection is reused afterwards: the read deadline is back in force.
	e.want(e.admin("GET", api+"/tenants/team-a", nil), 200)
}

func TestStats(t *testing.T) {
	e := newEnv(t)
	noAuth := map[string]string{"Authorization": ""}
	e.mkTenant("team-a", "tempo")
	e.call("GET", api+"/tenants", nil, noAuth) // a 401 is handled too
	e.call("GET", "/_emulator/counts", nil, noAuth)

	r := e.want(e.call("GET", "/_emulator/stats", nil, noAuth), 200)
	var st Stats
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("stats: %v: %s", err, r.body)
	}
	if st.Requests != 2 {
		t.Errorf("requests %d, want 2 (the control surface is not counted): %s", st.Requests, r.body)
	}
	if st.HandlingSeconds <= 0 || st.SlowestSeconds <= 0 || st.SlowestSeconds > st.HandlingSeconds {
		t.Errorf("handling %v s, slowest %v s", st.HandlingSeconds, st.SlowestSeconds)
	}
	e.srv.ConnState(nil, http.StateNew)
	e.srv.ConnState(nil, http.StateActive)
	if n := e.srv.Stats().Connections; n != 1 {
		t.Errorf("connections %d, want 1", n)
	}
	e.want(e.call("POST", "/_emulator/stats", nil, noAuth), 405)
	e.want(e.call("POST", "/_emulator/reset", nil, noAuth), 204)
	if st := e.srv.Stats(); st != (Stats{}) {
		t.Errorf("stats after reset: %+v", st)
	}
}
