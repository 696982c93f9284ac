package incluster_test

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// splitTokens is a release of n tokens, each in its own Secret, with
// rotation value rot.
func splitTokens(n int, rot string) string {
	var v strings.Builder
	v.WriteString("tenants: [{name: team-a}]\naccessPolicies:\n  - {name: team-a-write, scopes: [traces:write], realms: [{tenant: team-a}]}\ntokens:\n")
	for i := range n {
		fmt.Fprintf(&v, "  - {namePrefix: t%d, accessPolicy: team-a-write, rotation: %q, secret: {namespace: team-a, name: tok-%d, key: token}}\n", i, rot, i)
	}
	return v.String()
}

// partSecrets lists the state Secrets of the release's token parts.
func (e *runnerEnv) partSecrets(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := range 8 {
		name := fmt.Sprintf("%s-part-%d", stateSecret, i)
		if obj, code := e.secretObject(t, stateNS, name); code == http.StatusOK {
			data, _ := obj["data"].(map[string]any)
			s, _ := data["tfstate"].(string)
			out[name] = len(s)
		}
	}
	return out
}

// TestRunnerSplitsTheState: a release in one encrypted state is split into
// token parts by raising state.parts. The tokens move with their secrets
// (none is replaced, none revoked, every Secret keeps its token), and the
// split release plans clean, rotates every token at once and converges,
// refuses a lowered state.parts, recovers a lost state namespace into its
// parts by adoption, and its clean-up reaches every part.
func TestRunnerSplitsTheState(t *testing.T) {
	e := newRunnerEnv(t)
	const n = 9
	names := func() map[string]string {
		out := map[string]string{}
		for i := range n {
			s, _ := e.secret(t, "team-a", fmt.Sprintf("tok-%d", i))
			out[fmt.Sprintf("tok-%d", i)] = s["token"]
			e.secrets = append(e.secrets, s["token"])
		}
		return out
	}
	if out, err := e.runJob(t, e.helmUpgrade(t, e.values(t, splitTokens(n, "1")))); err != nil {
		t.Fatalf("install in one state: %v\n%s", err, out)
	}
	first, live := names(), e.liveTokens(t)
	if len(live) != n || len(e.partSecrets(t)) != 0 {
		t.Fatalf("after the install: %d live tokens, part Secrets %v", len(live), e.partSecrets(t))
	}

	// Split: every token moves to its part, and none changes.
	split := setFile(t, "state:\n  parts: 3\nrunner:\n  partParallelism: 2\n")
	out, err := e.runJob(t, e.helmUpgrade(t, e.values(t, splitTokens(n, "1")), split))
	if err != nil {
		t.Fatalf("the split: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	if !strings.Contains(out, fmt.Sprintf("%d tokens moved to the state part their key belongs to", n)) ||
		!strings.Contains(out, "0 created, 0 updated, 0 tokens rotated (0 replaced tokens revoked)") {
		t.Errorf("the split does not say it moved %d tokens and replaced none:\n%s", n, out)
	}
	if got := names(); !maps.Equal(got, first) {
		t.Errorf("a token Secret changed in the split: %v, was %v", got, first)
	}
	// Each token's entry in the token_secrets output moved with it: the
	// parts it went to have nothing to apply, only the part it left does.
	if applied := regexp.MustCompile(`apply \[[^\]]*-part-\d+\]`).FindAllString(out, -1); len(applied) > 0 {
		t.Errorf("token parts applied after the move, so their outputs did not list their tokens: %v\n%s", applied, out)
	}
	if got := e.liveTokens(t); !slices.Equal(got, live) {
		t.Errorf("live tokens after the split: %v, were %v", got, live)
	}
	for s, tok := range first {
		if code := e.writeTraces(t, "team-a", tok); code != http.StatusOK {
			t.Errorf("%s's token after the split: HTTP %d, want 200", s, code)
		}
	}
	parts := e.partSecrets(t)
	if len(parts) != 3 {
		t.Errorf("part Secrets after the split: %v, want 3", parts)
	}
	t.Logf("state Secrets after the split: release's %d bytes, parts %v", len(e.stateBytesRaw(t)), parts)

	// A plan and a scheduled run find nothing to do.
	if out, err := e.runJob(t, e.helmUpgradeHook(t, "test", e.values(t, splitTokens(n, "1")), split)); err != nil {
		t.Fatalf("helm test after the split: %v\n%s", err, out)
	}
	if out, err := e.runJob(t, e.reconcileJob(t)); err != nil || !strings.Contains(out, "no changes to apply") {
		t.Fatalf("the scheduled run after the split: %v\n%s", err, out)
	}

	// Every token at once, over all parts: each Secret gets a new token,
	// the old ones are revoked after the overlap.
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, splitTokens(n, "2")), split))
	if err != nil {
		t.Fatalf("rotating every token: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	rotated := names()
	for s, tok := range rotated {
		if tok == first[s] {
			t.Errorf("%s was not rotated", s)
		}
		if code := e.writeTraces(t, "team-a", tok); code != http.StatusOK {
			t.Errorf("%s's new token: HTTP %d, want 200", s, code)
		}
		if code := e.writeTraces(t, "team-a", first[s]); code != http.StatusUnauthorized {
			t.Errorf("%s's old token after the overlap: HTTP %d, want 401", s, code)
		}
	}
	if got := e.liveTokens(t); len(got) != n {
		t.Errorf("live tokens after rotating all: %v, want %d", got, n)
	}
	if out, err := e.runJob(t, e.helmUpgradeHook(t, "test", e.values(t, splitTokens(n, "2")), split)); err != nil {
		t.Fatalf("helm test after rotating all: %v\n%s", err, out)
	}

	// Fewer parts would leave the tokens of the others unmanaged: refused.
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, splitTokens(n, "2")), setFile(t, "state:\n  parts: 2\n")))
	wantRefusal(t, err)
	if !strings.Contains(out, "state.parts cannot be lowered") {
		t.Errorf("the refusal does not say why:\n%s", out)
	}
	if got := names(); !maps.Equal(got, rotated) || len(e.liveTokens(t)) != n {
		t.Errorf("the refused run changed tokens")
	}

	// A lost state namespace: every part is recovered by adoption, each
	// token into its own part, none replaced.
	for _, path := range []string{
		"/api/v1/namespaces/" + stateNS + "/secrets/" + stateSecret,
		"/api/v1/namespaces/" + stateNS + "/configmaps/" + release + "-tempo-tenancy-written",
		"/apis/coordination.k8s.io/v1/namespaces/" + stateNS + "/leases/" + release + "-tempo-tenancy-run",
	} {
		if code, body := e.kube.Do(t, "DELETE", path, nil, ""); code != http.StatusOK && code != http.StatusNotFound {
			t.Fatalf("DELETE %s: %d %s", path, code, body)
		}
	}
	for name := range e.partSecrets(t) {
		if code, body := e.kube.Do(t, "DELETE", "/api/v1/namespaces/"+stateNS+"/secrets/"+name, nil, ""); code != http.StatusOK {
			t.Fatalf("DELETE %s: %d %s", name, code, body)
		}
	}
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, splitTokens(n, "2")), split, setFile(t, "runner:\n  adoptExisting: true\n")))
	if err != nil {
		t.Fatalf("recovering the split state: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	if want := fmt.Sprintf("%d adopted, 0 created", n+2); !strings.Contains(out, want) {
		t.Errorf("the recovery does not say %q:\n%s", want, out)
	}
	if got := names(); !maps.Equal(got, rotated) || len(e.liveTokens(t)) != n || len(e.partSecrets(t)) != 3 {
		t.Errorf("the recovery changed tokens, or did not write the parts: %v", e.partSecrets(t))
	}
	if out, err := e.runJob(t, e.helmUpgradeHook(t, "test", e.values(t, splitTokens(n, "2")), split)); err != nil {
		t.Fatalf("helm test after the recovery: %v\n%s", err, out)
	}

	// The clean-up revokes the tokens of every part.
	job := e.helmUpgradeHook(t, "destroy", e.values(t, splitTokens(n, "2")), split, setFile(t, "runner:\n  cleanupOnUninstall: true\n"))
	if out, err := e.runJob(t, job); err != nil {
		t.Fatalf("clean-up: %v\n%s", err, out)
	}
	if got := e.liveTokens(t); len(got) != 0 {
		t.Errorf("live tokens after the clean-up: %v", got)
	}
}

// stateBytesRaw is the release's state Secret as stored (compressed,
// encrypted).
func (e *runnerEnv) stateBytesRaw(t *testing.T) string {
	t.Helper()
	obj, code := e.secretObject(t, stateNS, stateSecret)
	if code != http.StatusOK {
		t.Fatalf("reading the state Secret: %d", code)
	}
	data, _ := obj["data"].(map[string]any)
	s, _ := data["tfstate"].(string)
	return s
}
