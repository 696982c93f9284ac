package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestPartOfIsStableAndSpreadsTokens(t *testing.T) {
	// The assignment is part of the stored layout: a change would move
	// every token of every split release.
	for key, want := range map[string]int{"team-a-write": 15, "t0": 4, "scale-2999": 14} {
		if got := partOf(key, 16); got != want {
			t.Errorf("partOf(%q, 16) = %d, want %d", key, got, want)
		}
	}
	var keys []string
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("team-%d-write", i))
	}
	counts := make([]int, 16)
	for _, k := range keys {
		counts[partOf(k, 16)]++
	}
	for i, n := range counts {
		if n < 140 || n > 240 {
			t.Errorf("part %d holds %d of 3000 tokens in 16 parts, want about 188: %v", i, n, counts)
		}
	}
	names := make([]string, 16)
	for i := range names {
		names[i] = fmt.Sprintf("p%d", i)
	}
	if over := crowdedParts(keys, names); over != "" {
		t.Errorf("3000 tokens in 16 parts: crowded %s", over)
	}
	if over := crowdedParts(keys, names[:8]); !strings.Contains(over, "tokens)") {
		t.Errorf("3000 tokens in 8 parts: crowded %q, want every part named", over)
	}
	if over := crowdedParts(keys, nil); over != "" {
		t.Errorf("one state: %q; the chart bounds it", over)
	}
}

func TestSplitVars(t *testing.T) {
	in := []byte(`{
  "ca_cert_file": "/ca.crt",
  "tenants": {"team-a": {}},
  "access_policies": {"team-a-write": {"scopes": ["traces:write"], "realms": [{"tenant": "team-a"}]}},
  "tokens": {"a": {"name_prefix": "a-", "access_policy": "team-a-write"}, "b": {"name": "b", "access_policy": "team-a-write"}, "c": {"name_prefix": "c-", "access_policy": "x"}},
  "adopt": {"tenants": ["team-a"], "access_policies": [], "tokens": {"b": "b"}}
}`)
	one, err := splitVars(in, 0)
	if err != nil || len(one) != 1 || string(one[0]) != string(in) {
		t.Fatalf("one state: %v, %q", err, one)
	}
	out, err := splitVars(in, 2)
	if err != nil || len(out) != 3 {
		t.Fatalf("two token parts: %v, %d", err, len(out))
	}
	var vs []moduleVars
	for _, b := range out {
		v, err := parseVars(b)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		_ = json.Unmarshal(b, &raw)
		if raw["ca_cert_file"] != "/ca.crt" {
			t.Errorf("a part lost ca_cert_file: %s", b)
		}
		vs = append(vs, v)
	}
	if len(vs[0].Tenants) != 1 || len(vs[0].AccessPolicies) != 1 || len(vs[0].Tokens) != 0 ||
		!reflect.DeepEqual(vs[0].Adopt.Tenants, []string{"team-a"}) || len(vs[0].Adopt.Tokens) != 0 {
		t.Errorf("the release's part: %+v", vs[0])
	}
	seen := map[string]int{}
	for i, v := range vs[1:] {
		if len(v.Tenants) != 0 || len(v.AccessPolicies) != 0 || len(v.Adopt.Tenants) != 0 {
			t.Errorf("token part %d has tenants or policies: %+v", i, v)
		}
		for k := range v.Tokens {
			seen[k]++
			if partOf(k, 2) != i {
				t.Errorf("token %q in part %d, belongs to %d", k, i, partOf(k, 2))
			}
		}
		for k := range v.Adopt.Tokens {
			if _, ok := v.Tokens[k]; !ok {
				t.Errorf("part %d adopts %q, which it does not hold", i, k)
			}
		}
	}
	if !reflect.DeepEqual(seen, map[string]int{"a": 1, "b": 1, "c": 1}) {
		t.Errorf("every token in exactly one part: %v", seen)
	}
}

func TestReadStateParts(t *testing.T) {
	dir := t.TempDir()
	if names, err := readStateParts(dir); err != nil || names != nil {
		t.Fatalf("no file: %v %v", names, err)
	}
	for body, ok := range map[string]bool{`[]`: true, `["r-part-0","r-part-1"]`: true, `["a","a"]`: false, `[""]`: false, `{`: false} {
		if err := os.WriteFile(filepath.Join(dir, statePartsFile), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readStateParts(dir); (err == nil) != ok {
			t.Errorf("%s: err %v, want ok %v", body, err, ok)
		}
	}
}

func TestDroppedParts(t *testing.T) {
	if d := droppedParts([]string{"p0", "p1", "p2"}, []string{"p0", "p1", "p2", "p3"}); d != nil {
		t.Errorf("raised: %v", d)
	}
	if d := droppedParts([]string{"p0", "p1", "p2"}, []string{"p0"}); !reflect.DeepEqual(d, []string{"p1", "p2"}) {
		t.Errorf("lowered: %v", d)
	}
	if d := droppedParts([]string{"p0", "p1"}, nil); len(d) != 2 {
		t.Errorf("back to one state: %v", d)
	}
}

func TestPlanMoves(t *testing.T) {
	parts := map[string]int{"a": 1, "b": 2, "c": 2, "gone": 1}
	want := func(k string) int { return parts[k] }
	cases := []struct {
		name    string
		held    []map[string]string
		want    []tokenMove
		wantErr string
	}{
		{"in place", []map[string]string{{}, {"a": "a-1"}, {"b": "b-1", "c": "c-1"}}, nil, ""},
		{"split a single state", []map[string]string{{"a": "a-1", "b": "b-1", "gone": "g-1"}, {}, {"c": "c-1"}},
			[]tokenMove{{"a", 0, 1, false}, {"b", 0, 2, false}, {"gone", 0, 1, false}}, ""},
		{"a stopped move left a copy", []map[string]string{{"a": "a-1"}, {"a": "a-1"}, {}},
			[]tokenMove{{"a", 0, 1, true}}, ""},
		{"a copy in two wrong parts", []map[string]string{{"b": "b-1"}, {"b": "b-1"}, {}},
			[]tokenMove{{"b", 0, 2, false}, {"b", 1, 2, true}}, ""},
		{"two tokens under one key", []map[string]string{{"a": "a-1"}, {"a": "a-2"}, {}}, nil,
			"state parts rel and rel-part-0 hold different tokens under this key (a-1 and a-2)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := planMoves(tc.held, []string{"rel", "rel-part-0", "rel-part-1"}, want)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("moves %v (err %v), want %v", got, err, tc.want)
			}
		})
	}
}

const stateWithTokens = `{"version":4,"terraform_version":"1.12.6","serial":7,"lineage":"l-1","outputs":{},
"resources":[
 {"mode":"managed","type":"tempo_tenant","name":"this","provider":"provider[\"registry.opentofu.org/tempo-tenancy/tempo\"]","instances":[{"index_key":"team-a","schema_version":0,"attributes":{"name":"team-a"}}]},
 {"mode":"managed","type":"tempo_token","name":"this","each":"map","provider":"provider[\"registry.opentofu.org/tempo-tenancy/tempo\"]","instances":[
  {"index_key":"a","schema_version":0,"attributes":{"name":"a-1","token":"s3cr3t-a"},"sensitive_attributes":[],"dependencies":["tempo_access_policy.this"]},
  {"index_key":"b","schema_version":0,"attributes":{"name":"b-2","token":"s3cr3t-b"}},
  {"index_key":"b","deposed":"00000001","schema_version":0,"attributes":{"name":"b-1","token":"s3cr3t-b-old"}}]}
]}`

func TestStateMovesTokensWithTheirObjects(t *testing.T) {
	src, err := parseState(stateWithTokens)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.tokens(); !reflect.DeepEqual(got, map[string]string{"a": "a-1", "b": "b-2"}) {
		t.Errorf("tokens: %v", got)
	}
	dst, err := newState("1.12.6")
	if err != nil {
		t.Fatal(err)
	}
	dst.put(src.take([]string{"b"}), src)
	if err := dst.bump(); err != nil {
		t.Fatal(err)
	}
	if got := src.tokens(); !reflect.DeepEqual(got, map[string]string{"a": "a-1"}) {
		t.Errorf("source after the move: %v", got)
	}
	if got := dst.tokens(); !reflect.DeepEqual(got, map[string]string{"b": "b-2"}) {
		t.Errorf("target after the move: %v", got)
	}
	b, err := json.Marshal(dst)
	if err != nil {
		t.Fatal(err)
	}
	again, err := parseState(string(b))
	if err != nil {
		t.Fatal(err)
	}
	res := again.tokenRes()
	if res["provider"] != src.tokenRes()["provider"] || res["each"] != "map" || len(instancesOf(res)) != 2 {
		t.Errorf("target resource: %v", res)
	}
	for _, want := range []string{`"serial":1`, `"s3cr3t-b"`, `"s3cr3t-b-old"`, `"deposed":"00000001"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("target state lacks %s: %s", want, b)
		}
	}
	// The tenant stays, and the serial of the source goes up too.
	if err := src.bump(); err != nil {
		t.Fatal(err)
	}
	sb, _ := json.Marshal(src)
	if !strings.Contains(string(sb), `"serial":8`) || !strings.Contains(string(sb), `"team-a"`) || strings.Contains(string(sb), "s3cr3t-b") {
		t.Errorf("source state: %s", sb)
	}
	if s, err := parseState("  \n"); s != nil || err != nil {
		t.Errorf("no state: %v %v", s, err)
	}
	if _, err := parseState(`{"version":3}`); err == nil {
		t.Error("a version 3 state must be refused")
	}
}

// keyIn finds a key that partOf puts in token part i of n.
func keyIn(t *testing.T, prefix string, i, n int) string {
	t.Helper()
	for j := range 1000 {
		if k := fmt.Sprintf("%s-%d", prefix, j); partOf(k, n) == i {
			return k
		}
	}
	t.Fatalf("no key for part %d of %d", i, n)
	return ""
}

// A token the values no longer declare moves to its part too: left where
// it was, the layout would be recorded as settled with it outside, and a
// later upgrade that declares it again would plan its revocation in one
// part and a new token in the other.
func TestMovesForMovesUndeclaredTokens(t *testing.T) {
	declared := keyIn(t, "team", 0, 2)
	gone := keyIn(t, "gone", 1, 2)
	held := []map[string]string{{declared: "d-1", gone: "g-1"}, {}, {}}
	got, err := movesFor(held, []string{"rel", "rel-part-0", "rel-part-1"})
	want := []tokenMove{{declared, 0, 1, false}, {gone, 0, 2, false}}
	slicesSortMoves(got)
	slicesSortMoves(want)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("moves %v (err %v), want %v", got, err, want)
	}
	// A copy a stopped move left of an undeclared token goes as well.
	held = []map[string]string{{gone: "g-1"}, {}, {gone: "g-1"}}
	got, err = movesFor(held, []string{"rel", "rel-part-0", "rel-part-1"})
	if want := []tokenMove{{gone, 0, 2, true}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("moves %v (err %v), want %v", got, err, want)
	}
}

func slicesSortMoves(ms []tokenMove) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].key < ms[j].key })
}

const stateWithOutputs = `{"version":4,"terraform_version":"1.12.6","serial":3,"lineage":"l-2",
"outputs":{"token_secrets":{"sensitive":true,
 "value":{"a":{"namespace":"ns-a","name":"s-a","key":"token","token_name":"a-1","token":"s3cr3t-a"},
          "b":{"namespace":"ns-b","name":"s-b","key":"token","token_name":"b-1","token":"s3cr3t-b"}},
 "type":["object",{"a":["object",{"key":"string","name":"string","namespace":"string","token":"string","token_name":"string"}],
                   "b":["object",{"key":"string","name":"string","namespace":"string","token":"string","token_name":"string"}]}]}},
"resources":[
 {"mode":"managed","type":"tempo_token","name":"this","each":"map","provider":"provider[\"registry.opentofu.org/tempo-tenancy/tempo\"]","instances":[
  {"index_key":"a","schema_version":0,"attributes":{"name":"a-1","token":"s3cr3t-a"}},
  {"index_key":"b","schema_version":0,"attributes":{"name":"b-1","token":"s3cr3t-b"}}]}
]}`

func readState(t *testing.T, raw string) tfState {
	t.Helper()
	s, err := parseState(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// outputOf reads a state's token_secrets output as the runner does.
func outputOf(t *testing.T, s tfState) map[string]TokenSecret {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Outputs map[string]struct {
			Value json.RawMessage `json:"value"`
			Type  json.RawMessage `json:"type"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	o, ok := st.Outputs[tokenSecretsOutput]
	if !ok {
		return nil
	}
	out, err := parseTokenSecrets(o.Value)
	if err != nil {
		t.Fatal(err)
	}
	// The type lists exactly the value's keys.
	var typ []json.RawMessage
	var attrs map[string]any
	if err := json.Unmarshal(o.Type, &typ); err != nil || len(typ) != 2 || string(typ[0]) != `"object"` {
		t.Fatalf("output type %s (%v)", o.Type, err)
	}
	if err := json.Unmarshal(typ[1], &attrs); err != nil {
		t.Fatal(err)
	}
	if len(attrs) != len(out) {
		t.Errorf("output type lists %d keys, value %d", len(attrs), len(out))
	}
	for k := range out {
		if _, ok := attrs[k]; !ok {
			t.Errorf("output type lacks %q", k)
		}
	}
	return out
}

// A token's entry in the token_secrets output moves with it: were the part
// it went to stopped before its apply, and the part it left applied, no
// output would list it, and the next run would replace it with no overlap
// for its consumers, who would never be restarted.
func TestMovedTokenKeepsItsOutputEntry(t *testing.T) {
	read := func() tfState { return readState(t, stateWithOutputs) }
	states := []tfState{read(), nil}
	sources := []tfState{read(), nil}
	gained, lost, err := moveTokens(states, sources, []tokenMove{{"b", 0, 1, false}})
	if err != nil || !gained[1] || !reflect.DeepEqual(lost, map[int][]string{0: {"b"}}) {
		t.Fatalf("gained %v lost %v err %v", gained, lost, err)
	}
	if got := outputOf(t, states[1]); len(got) != 1 || got["b"].TokenName != "b-1" || got["b"].Namespace != "ns-b" ||
		got["b"].Token == nil || *got["b"].Token != "s3cr3t-b" {
		t.Errorf("the part gained: %v", got)
	}
	if b, _ := json.Marshal(states[1]["outputs"]); !strings.Contains(string(b), `"sensitive":true`) {
		t.Errorf("the output must stay sensitive: %s", b)
	}
	// The part it left is read again and loses it, output entry included.
	src := read()
	src.drop(lost[0])
	if got := outputOf(t, src); len(got) != 1 || got["a"].TokenName != "a-1" {
		t.Errorf("the part left: %v", got)
	}
	if got := src.tokens(); !reflect.DeepEqual(got, map[string]string{"a": "a-1"}) {
		t.Errorf("the part left holds %v", got)
	}
	// Into a part whose output lists other tokens already.
	into := read()
	into.drop([]string{"b"})
	other := read()
	other.drop([]string{"a"})
	into.put(other.take([]string{"b"}), other)
	if got := outputOf(t, into); len(got) != 2 {
		t.Errorf("both tokens listed: %v", got)
	}
}

// Two parts' outputs may list one token for a while (a move stopped
// between its writes): the entry of the part the key belongs to counts.
func TestMergeOutputsPrefersTheTokensPart(t *testing.T) {
	k := keyIn(t, "team", 1, 2)
	s := func(name string) TokenSecret {
		return TokenSecret{Namespace: "ns", Name: "s", Key: "token", TokenName: name}
	}
	outs := []map[string]TokenSecret{{k: s("old"), "x": s("x")}, {}, {k: s("new")}, nil}
	got := mergeOutputs(outs[:3])
	if got[k].TokenName != "new" || got["x"].TokenName != "x" || len(got) != 2 {
		t.Errorf("merged: %v", got)
	}
	k0 := keyIn(t, "team", 0, 2)
	outs = []map[string]TokenSecret{{}, {k0: s("new")}, {k0: s("old")}}
	if got := mergeOutputs(outs); got[k0].TokenName != "new" {
		t.Errorf("merged: %v", got)
	}
	if got := mergeOutputs([]map[string]TokenSecret{{k: s("one")}}); got[k].TokenName != "one" {
		t.Errorf("one state: %v", got)
	}
}

// Each line a part's CLI prints carries the part's label, the last one
// too when it lacks a newline.
func TestLinePrefixer(t *testing.T) {
	var mu sync.Mutex
	var b strings.Builder
	l := &linePrefixer{mu: &mu, w: &b, prefix: "[p1] "}
	for _, s := range []string{"one\ntw", "o\n", "three"} {
		if _, err := l.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	l.Flush()
	l.Flush()
	if got, want := b.String(), "[p1] one\n[p1] two\n[p1] three\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A copy a stopped move left goes, and its output entry goes to the part
// that keeps the token when that part's output lacks it (a copy written
// without its entry): else no output would list the token.
func TestDroppedCopyGivesItsOutputEntryToTheKeeper(t *testing.T) {
	read := func() tfState { return readState(t, stateWithOutputs) }
	keeper := read()
	delete(keeper["outputs"].(map[string]any), tokenSecretsOutput)
	states := []tfState{read(), keeper}
	sources := []tfState{read(), read()}
	gained, lost, err := moveTokens(states, sources, []tokenMove{{"b", 0, 1, true}})
	if err != nil || !gained[1] || !reflect.DeepEqual(lost, map[int][]string{0: {"b"}}) {
		t.Fatalf("gained %v lost %v err %v", gained, lost, err)
	}
	if got := outputOf(t, states[1]); len(got) != 1 || got["b"].TokenName != "b-1" {
		t.Errorf("the keeper's output: %v", got)
	}
	// Its objects are not added twice.
	if n := len(instancesOf(states[1].tokenRes())); n != 2 {
		t.Errorf("the keeper holds %d token objects, want 2", n)
	}
	// A keeper that lists the token already gains nothing.
	states = []tfState{read(), read()}
	gained, _, err = moveTokens(states, []tfState{read(), read()}, []tokenMove{{"b", 0, 1, true}})
	if err != nil || gained[1] {
		t.Errorf("a keeper that lists the token gained: %v %v", gained, err)
	}
}
