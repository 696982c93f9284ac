package emulator

import (
	"encoding/json"
	"maps"
	"testing"
)

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Every admin and data-path request is counted once under the status it
// got, refusals and dropped connections included; the control surface is
// not counted.
func TestStatusCounts(t *testing.T) {
	e := newEnv(t)
	noAuth := map[string]string{"Authorization": ""}
	e.mkTenant("team-a", "tempo")                           // 201
	e.want(e.admin("GET", api+"/tenants/nobody", nil), 404) // 404
	e.want(e.call("GET", api+"/tenants", nil, noAuth), 401) // 401
	e.srv.InjectFault(Fault{Path: api + "/clusters", Status: 429, RetryAfter: "1"})
	e.want(e.admin("GET", api+"/clusters", nil), 429) // 429
	e.srv.InjectFault(Fault{Path: api + "/clusters", Drop: true})
	if r := e.admin("GET", api+"/clusters", nil); r.err == nil { // dropped
		t.Fatalf("the drop fault answered %d", r.status)
	}
	e.want(e.data("GET", "/api/search", "team-a", "wrong"), 401) // 401 on the data path
	e.want(e.call("GET", "/_emulator/counts", nil, noAuth), 200)

	want := map[string]int{"201": 1, "404": 1, "401": 2, "429": 1, "dropped": 1}
	if got := e.srv.StatusCounts(); !maps.Equal(got, want) {
		t.Errorf("StatusCounts() = %v, want %v", got, want)
	}
	if a, b := sum(e.srv.StatusCounts()), sum(e.srv.Counts()); a != b {
		t.Errorf("%d statuses counted for %d requests", a, b)
	}

	r := e.want(e.call("GET", "/_emulator/counts?by=status", nil, noAuth), 200)
	var got map[string]int
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("counts by status: %v: %s", err, r.body)
	}
	if !maps.Equal(got, want) {
		t.Errorf("/_emulator/counts?by=status = %v, want %v", got, want)
	}
	r = e.want(e.call("GET", "/_emulator/counts?by=route", nil, noAuth), 200)
	if err := json.Unmarshal(r.body, &got); err != nil || got["POST "+api+"/tenants"] != 1 {
		t.Errorf("counts by route: %v: %s", err, r.body)
	}
	wantField(t, e.call("GET", "/_emulator/counts?by=colour", nil, noAuth), "by")

	e.srv.Reset()
	if got := e.srv.StatusCounts(); len(got) != 0 {
		t.Errorf("after Reset: %v", got)
	}
}

// A fault that commits and then drops the answer counts as dropped, not as
// the status its handler wrote into the void.
func TestStatusCountsCommitThenDrop(t *testing.T) {
	e := newEnv(t)
	e.srv.InjectFault(Fault{Method: "POST", Path: api + "/tenants", CommitThenDrop: true})
	if r := e.admin("POST", api+"/tenants", map[string]any{"name": "team-a", "cluster": "tempo"}); r.err == nil {
		t.Fatalf("the fault answered %d", r.status)
	}
	if got, want := e.srv.StatusCounts(), map[string]int{"dropped": 1}; !maps.Equal(got, want) {
		t.Errorf("StatusCounts() = %v, want %v", got, want)
	}
}
