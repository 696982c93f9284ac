package incluster_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// TestRunnerAdoptsWhatExists: objects the admin API has and the state
// does not (a create whose answer was lost, objects made before the
// release) make the run fail with "already exists"; named for adoption
// in the values, they are imported, with no token made or revoked.
func TestRunnerAdoptsWhatExists(t *testing.T) {
	e := newRunnerEnv(t)
	ctx := context.Background()
	if _, err := e.admin.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "team-a-write", Scopes: []string{"traces:write"},
		Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "tempo"}}}); err != nil {
		t.Fatal(err)
	}
	tk, err := e.admin.CreateToken(ctx, adminapi.Token{Name: "team-a-collector", AccessPolicy: "team-a-write"})
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, tk.Secret.Reveal())
	const values = `
tenants:
  - {name: team-a, ADOPT}
accessPolicies:
  - {name: team-a-write, ADOPT, scopes: [traces:write], realms: [{tenant: team-a}]}
tokens:
  - {name: team-a-collector, ADOPT, accessPolicy: team-a-write, secret: {namespace: team-a, name: collector, key: token}}
`
	out, err := e.runJob(t, e.helmUpgrade(t, e.values(t, strings.ReplaceAll(values, ", ADOPT", ""))))
	if err == nil || !strings.Contains(out, "already exists") {
		t.Fatalf("without adoption the run should fail on the existing names: %v\n%s", err, out)
	}

	// Values that would replace the token as it is imported (another
	// display name) would revoke it at once: the run stops first.
	differing := strings.Replace(strings.ReplaceAll(values, "ADOPT", "adopt: true"), "{name: team-a-collector, adopt: true,",
		"{namePrefix: team-a, adopt: team-a-collector, displayName: Collector,", 1)
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, differing)))
	if exitCode(err) != 3 || !strings.Contains(out, "would replace tokens as it adopts them") || !strings.Contains(out, `  tempo_token.this["team-a"]`) {
		t.Errorf("adopting a token whose values differ: %v, want a refusal naming it\n%s", err, out)
	}
	if code := e.writeTraces(t, "team-a", tk.Secret.Reveal()); code != http.StatusOK {
		t.Errorf("the token after the refused run: HTTP %d, want 200", code)
	}

	adopting := e.values(t, strings.ReplaceAll(values, "ADOPT", "adopt: true"))
	out, err = e.runJob(t, e.helmUpgrade(t, adopting))
	if err != nil {
		t.Fatalf("the run that adopts: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	for _, want := range []string{"3 to import", "tokens without a known secret (imported?), not written: team-a-collector", "3 adopted"} {
		if !strings.Contains(out, want) {
			t.Errorf("the adopting run does not say %q:\n%s", want, out)
		}
	}
	if live := e.liveTokens(t); !slices.Equal(live, []string{"team-a-collector"}) {
		t.Errorf("live tokens after adoption: %v, want the adopted one alone", live)
	}
	if code := e.writeTraces(t, "team-a", tk.Secret.Reveal()); code != http.StatusOK {
		t.Errorf("the adopted token: HTTP %d, want 200", code)
	}
	if s, _ := e.secret(t, "team-a", "collector"); s != nil {
		t.Errorf("a Secret was written for a token whose secret nobody has: %v", s)
	}
	// Adopted, they are the release's: helm test finds nothing to do,
	// with the adopt entries still in the values or without them.
	for _, v := range []string{adopting, e.values(t, strings.ReplaceAll(values, ", ADOPT", ""))} {
		if out, err := e.runJob(t, e.helmUpgradeHook(t, "test", v)); err != nil {
			t.Errorf("helm test after adoption: %v\n%s", err, out)
		}
	}
}

// TestRunnerRecoversALostState: a release whose state namespace lost its
// objects (the state, the record of written Secrets, the Leases)
// re-adopts what its values declare with runner.adoptExisting, keeping
// every token it can tell and its Secret; an entry with two live tokens of
// its making gets a new one, written before both are revoked. The release
// then goes on rotating.
func TestRunnerRecoversALostState(t *testing.T) {
	e := newRunnerEnv(t)
	const tokens = `
tenants:
  - {name: team-a}
  - {name: team-b, displayName: Team B}
accessPolicies:
  - name: team-a-write
    scopes: [traces:write]
    realms: [{tenant: team-a}]
tokens:
  - {namePrefix: otel-1, accessPolicy: team-a-write, rotation: "ROT", secret: {namespace: team-a, name: otel-1, key: token}}
  - {namePrefix: otel-2, accessPolicy: team-a-write, rotation: "ROT", secret: {namespace: team-a, name: otel-2, key: token}}
  - {name: fixed-token, accessPolicy: team-a-write, secret: {namespace: team-a, name: fixed, key: token}}
`
	values := e.values(t, strings.ReplaceAll(tokens, "ROT", "1"))
	if out, err := e.runJob(t, e.helmUpgrade(t, values)); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	names := []string{"otel-1", "otel-2", "fixed"}
	first := map[string]string{}
	for _, n := range names {
		s, _ := e.secret(t, "team-a", n)
		first[n] = s["token"]
		e.secrets = append(e.secrets, s["token"])
	}
	live := e.liveTokens(t)
	// otel-1 has a second live token of its own making, as when a run was
	// stopped during a rotation's overlap: which of the two its Secret
	// holds cannot be told from the admin API.
	ctx := context.Background()
	extra, err := e.admin.CreateToken(ctx, adminapi.Token{Name: "otel-1-zzzzzzzzzzzz", AccessPolicy: "team-a-write"})
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, extra.Secret.Reveal())

	// The state namespace loses everything the release keeps there.
	for _, path := range []string{
		"/api/v1/namespaces/" + stateNS + "/secrets/" + stateSecret,
		"/api/v1/namespaces/" + stateNS + "/configmaps/" + release + "-tempo-tenancy-written",
		"/apis/coordination.k8s.io/v1/namespaces/" + stateNS + "/leases/lock-" + stateSecret,
		"/apis/coordination.k8s.io/v1/namespaces/" + stateNS + "/leases/" + release + "-tempo-tenancy-run",
	} {
		if code, body := e.kube.Do(t, "DELETE", path, nil, ""); code != http.StatusOK && code != http.StatusNotFound {
			t.Fatalf("DELETE %s: %d %s", path, code, body)
		}
	}

	// One tenant is named for adoption in the values too, as a release
	// moved from a provisioner has: both ways of adopting meet.
	recovering := e.values(t, strings.ReplaceAll(strings.Replace(tokens, "Team B}", "Team B, adopt: true}", 1), "ROT", "1"))
	out, err := e.runJob(t, e.helmUpgrade(t, recovering, setFile(t, "runner:\n  adoptExisting: true\n")))
	if err != nil {
		t.Fatalf("the recovering run: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	for _, want := range []string{"2 tenants, 1 access policies, 2 tokens", "5 to import, 1 to add", "5 adopted, 1 created", "2 live tokens of entries with more than one candidate"} {
		if !strings.Contains(out, want) {
			t.Errorf("the recovering run does not say %q:\n%s", want, out)
		}
	}
	// otel-2 and the fixed token are adopted as they are; otel-1 has a new
	// token, written before both candidates were revoked.
	recovered := map[string]string{}
	for _, n := range names {
		s, _ := e.secret(t, "team-a", n)
		recovered[n] = s["token"]
		e.secrets = append(e.secrets, s["token"])
		if changed := s["token"] != first[n]; changed != (n == "otel-1") {
			t.Errorf("Secret %s changed in the recovery: %v", n, changed)
		}
		if code := e.writeTraces(t, "team-a", s["token"]); code != http.StatusOK {
			t.Errorf("Secret %s's token after the recovery: HTTP %d, want 200", n, code)
		}
	}
	for _, old := range []string{first["otel-1"], extra.Secret.Reveal()} {
		if code := e.writeTraces(t, "team-a", old); code != http.StatusUnauthorized {
			t.Errorf("a candidate for otel-1 after the recovery: HTTP %d, want 401", code)
		}
	}
	got := e.liveTokens(t)
	if len(got) != 3 || !slices.Contains(got, live[0]) || !slices.Contains(got, live[2]) {
		t.Errorf("live tokens after recovery: %v; want otel-2's and the fixed one from before (%v) and a new otel-1", got, live)
	}
	if out, err := e.runJob(t, e.helmUpgradeHook(t, "test", values)); err != nil {
		t.Errorf("helm test after recovery, without adoptExisting: %v\n%s", err, out)
	}

	// The recovered state rotates as before: new secrets written, the old
	// tokens revoked after the overlap.
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, strings.ReplaceAll(tokens, "ROT", "2"))))
	if err != nil {
		t.Fatalf("rotation after recovery: %v\n%s", err, out)
	}
	for _, n := range names[:2] {
		s, _ := e.secret(t, "team-a", n)
		e.secrets = append(e.secrets, s["token"])
		if s["token"] == recovered[n] || e.writeTraces(t, "team-a", s["token"]) != http.StatusOK {
			t.Errorf("Secret %s after the rotation does not hold a new working token", n)
		}
		if code := e.writeTraces(t, "team-a", recovered[n]); code != http.StatusUnauthorized {
			t.Errorf("%s's token before the rotation: HTTP %d, want 401", n, code)
		}
	}
	if got := e.liveTokens(t); len(got) != 3 {
		t.Errorf("live tokens after the rotation: %v, want 3", got)
	}
}
