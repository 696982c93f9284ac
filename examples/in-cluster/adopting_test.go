package incluster_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// guideBlock returns the first fenced block of the given language after
// the heading that starts with heading, in a guide's template.
func guideBlock(t *testing.T, guide, heading, lang string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "templates/guides", guide))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n"+heading)
	if !ok {
		t.Fatalf("%s has no heading %q", guide, heading)
	}
	_, rest, ok = strings.Cut(rest, "```"+lang+"\n")
	if !ok {
		t.Fatalf("%s has no %s block after %q", guide, lang, heading)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("%s: the %s block after %q is not closed", guide, lang, heading)
	}
	return block
}

// provisionerSeed makes what the provisioner Job makes for tenant team-a:
// the tenant, its write and read policies and tokens, and the Secret its
// kubectl writes. It returns the tokens' secrets by token name.
func (e *runnerEnv) provisionerSeed(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	if _, err := e.admin.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"}); err != nil {
		t.Fatal(err)
	}
	seed := map[string]string{}
	for _, p := range []struct{ name, scope string }{{"write-team-a", "traces:write"}, {"read-team-a", "traces:read"}} {
		if _, err := e.admin.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: p.name, Scopes: []string{p.scope},
			Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "tempo"}}}); err != nil {
			t.Fatal(err)
		}
		tk, err := e.admin.CreateToken(ctx, adminapi.Token{Name: p.name, AccessPolicy: p.name})
		if err != nil {
			t.Fatal(err)
		}
		seed[p.name] = tk.Secret.Reveal()
		e.secrets = append(e.secrets, tk.Secret.Reveal())
	}
	e.kube.Apply(t, object{"apiVersion": "v1", "kind": "Namespace", "metadata": object{"name": "observability"}})
	e.kube.Apply(t, object{"apiVersion": "v1", "kind": "Secret",
		"metadata":   object{"name": "tempo-token-team-a", "namespace": "observability"},
		"stringData": object{"token-write": seed["write-team-a"], "token-read": seed["read-team-a"]}})
	return seed
}

// The adopting guide's step 6, followed as written: tokens that the
// provisioner Job made, with their secrets in a Secret that its kubectl
// wrote, are replaced by tokens of the chart, written into the same keys.
// The seed tokens keep working (the adoption configuration, not the chart,
// revokes them later), and the new ones work as soon as they are written.
func TestRunnerAdoptingGuideStep6(t *testing.T) {
	e := newRunnerEnv(t)
	ctx := context.Background()
	seed := e.provisionerSeed(t)

	// Step 6's values, as the guide shows them.
	step6 := setFile(t, guideBlock(t, "adopting.md.tmpl", "## 6.", "yaml"))
	out, err := e.runJob(t, e.helmUpgrade(t, e.values(t, ""), step6))
	if err != nil {
		t.Fatalf("the chart's run with the guide's values: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	got, _ := e.secret(t, "observability", "tempo-token-team-a")
	e.secrets = append(e.secrets, got["token-write"], got["token-read"])
	if got["token-write"] == seed["write-team-a"] || got["token-read"] == seed["read-team-a"] || got["token-write"] == "" || got["token-read"] == "" {
		t.Fatalf("the Job's Secret does not hold the chart's new tokens")
	}
	if code := e.writeTraces(t, "team-a", got["token-write"]); code != http.StatusOK {
		t.Errorf("the new write token from the Secret: HTTP %d, want 200", code)
	}
	if code := e.writeTraces(t, "team-a", seed["write-team-a"]); code != http.StatusOK {
		t.Errorf("the seed write token after the chart's run: HTTP %d, want 200 (revoking it is the adoption configuration's step)", code)
	}
	for _, name := range []string{"write-team-a", "read-team-a"} {
		if tk, err := e.admin.GetToken(ctx, name); err != nil || tk.Status != adminapi.StatusActive {
			t.Errorf("seed token %s after the chart's run = %+v, %v; want active", name, tk, err)
		}
	}

	// A second run changes nothing.
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, ""), step6))
	if err != nil || !strings.Contains(out, "No changes") || !strings.Contains(out, "token Secrets: 1, 0 written") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if again, _ := e.secret(t, "observability", "tempo-token-team-a"); again["token-write"] != got["token-write"] {
		t.Errorf("the second run changed the Secret")
	}
}

// The adopting guide's step 7, followed as written: the chart alone takes
// over the provisioner's tenant, policies and tokens (the first upgrade
// imports them and touches no token or Secret), then replaces its tokens
// (the second writes new ones into the Job's Secret and revokes the
// provisioner's after the overlap). A consumer reading the Secret
// throughout is never refused.
func TestRunnerAdoptingGuideStep7(t *testing.T) {
	e := newRunnerEnv(t)
	seed := e.provisionerSeed(t)
	adopt := setFile(t, guideBlock(t, "adopting.md.tmpl", "### Adopt", "yaml"))
	out, err := e.runJob(t, e.helmUpgrade(t, e.values(t, ""), adopt))
	if err != nil {
		t.Fatalf("the upgrade that adopts: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	if !strings.Contains(out, "Plan: 5 to import, 0 to add") || !strings.Contains(out, "5 adopted, 0 created") {
		t.Errorf("the adopting run does not show five imports and nothing else:\n%s", out)
	}
	if live := e.liveTokens(t); !slices.Equal(live, []string{"read-team-a", "write-team-a"}) {
		t.Errorf("live tokens after adoption: %v, want the provisioner's", live)
	}
	if got, _ := e.secret(t, "observability", "tempo-token-team-a"); got["token-write"] != seed["write-team-a"] || got["token-read"] != seed["read-team-a"] {
		t.Errorf("the adopting run changed the Job's Secret")
	}

	stop := e.consumer("observability", "tempo-token-team-a", "token-write", "team-a")
	replace := setFile(t, guideBlock(t, "adopting.md.tmpl", "### Replace the provisioner's tokens", "yaml"))
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, ""), adopt, replace))
	refusals := stop()
	if err != nil {
		t.Fatalf("the upgrade that replaces the provisioner's tokens: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	if len(refusals) > 0 {
		t.Errorf("the consumer was refused %d times during the replacement, first: %s", len(refusals), refusals[0])
	}
	got, _ := e.secret(t, "observability", "tempo-token-team-a")
	e.secrets = append(e.secrets, got["token-write"], got["token-read"])
	for key, name := range map[string]string{"token-write": "write-team-a", "token-read": "read-team-a"} {
		if got[key] == seed[name] || got[key] == "" {
			t.Errorf("key %s of the Job's Secret does not hold a new token", key)
		}
		if code := e.writeTraces(t, "team-a", seed[name]); code != http.StatusUnauthorized {
			t.Errorf("the provisioner's %s after the replacement: HTTP %d, want 401 (revoked after the overlap)", name, code)
		}
	}
	if code := e.writeTraces(t, "team-a", got["token-write"]); code != http.StatusOK {
		t.Errorf("the new write token: HTTP %d, want 200", code)
	}
	if live := e.liveTokens(t); len(live) != 2 || !strings.HasPrefix(live[0], "read-team-a-") || !strings.HasPrefix(live[1], "write-team-a-") {
		t.Errorf("live tokens after the replacement: %v, want one new token each", live)
	}
	if out, err := e.runJob(t, e.helmUpgradeHook(t, "test", e.values(t, ""), adopt, replace)); err != nil {
		t.Errorf("helm test after the migration: %v\n%s", err, out)
	}
}
