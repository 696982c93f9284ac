package incluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// reconcileJob is a Job made from the release's CronJob (which helm made),
// as the CronJob controller makes one: its jobTemplate as the release
// renders it.
func (e *runnerEnv) reconcileJob(t *testing.T) object {
	t.Helper()
	out, err := helm(t, "get", "manifest", release, "--namespace", releaseNS, "--kubeconfig", e.kubeconfig)
	if err != nil {
		t.Fatalf("helm get manifest: %v\n%s", err, out)
	}
	crons := byKind(splitManifests(t, out), "CronJob")
	if len(crons) != 1 {
		t.Fatalf("the release has %d CronJobs, want 1", len(crons))
	}
	c := crons[0]
	if p := get(c, "spec", "concurrencyPolicy"); p != "Forbid" {
		t.Errorf("the CronJob's concurrencyPolicy is %v, want Forbid", p)
	}
	return object{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": object{"name": get(c, "metadata", "name").(string) + "-29000000", "namespace": releaseNS},
		"spec":     get(c, "spec", "jobTemplate", "spec"),
	}
}

// exitCode is a run's exit status: 0, or the status of its failure.
func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// events lists the Events of the release namespace about one object, as
// "Type/Reason". Those about an object that exists (the CronJob; hook Jobs
// are run here without one) must carry its UID, or kubectl describe would
// not show them.
func (e *runnerEnv) events(t *testing.T, kind, name string) []string {
	t.Helper()
	code, body := e.kube.Do(t, "GET", "/api/v1/namespaces/"+releaseNS+"/events", nil, "")
	if code != http.StatusOK {
		t.Fatalf("listing events: %d %s", code, body)
	}
	var l struct {
		Items []struct {
			Type, Reason, Message string
			InvolvedObject        struct{ Kind, Name, UID string }
		}
	}
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range l.Items {
		if ev.InvolvedObject.Kind == kind && ev.InvolvedObject.Name == name {
			out = append(out, ev.Type+"/"+ev.Reason)
			if ev.InvolvedObject.UID == "" && kind == "CronJob" {
				t.Errorf("event %s on %s/%s carries no UID: kubectl describe would not show it", ev.Reason, kind, name)
			}
		}
	}
	return out
}

const reconcileValues = `
tenants:
  - {name: team-a}
  - {name: team-b}
accessPolicies:
  - name: team-a-write
    scopes: [traces:write]
    realms: [{tenant: team-a}]
tokens:
  - {namePrefix: team-a-otel, accessPolicy: team-a-write, secret: {namespace: team-a, name: tempo-token, key: token}}
  - {namePrefix: grafana, accessPolicy: team-a-write, secret: {namespace: grafana, name: tempo-datasource, key: token}}
`

// TestRunnerReconcile: the release's CronJob repairs what was changed by
// hand (a token revoked, a tenant deactivated) and rotates tokens whose
// window opened, with a reading consumer never refused; it never removes
// anything, whatever the values allow; it and an upgrade's hook take
// turns; helm test fails on drift and passes once converged.
func TestRunnerReconcile(t *testing.T) {
	e := newRunnerEnv(t)
	ctx := context.Background()
	values := e.values(t, reconcileValues)
	if out, err := e.runJob(t, e.helmUpgrade(t, values)); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	test := e.helmUpgradeHook(t, "test", values)
	if out, err := e.runJob(t, test); err != nil {
		t.Fatalf("helm test on a converged release: %v\n%s", err, out)
	}
	first, _ := e.secret(t, "team-a", "tempo-token")
	e.secrets = append(e.secrets, first["token"])
	tokens, err := e.admin.ListTokens(ctx, false)
	if err != nil {
		t.Fatal(err)
	}

	// Changed by hand: team-a's token revoked, team-b deactivated.
	for _, tk := range tokens {
		if strings.HasPrefix(tk.Name, "team-a-otel") {
			if err := e.admin.DeleteToken(ctx, tk.Name, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.admin.DeleteTenant(ctx, "team-b", 0); err != nil {
		t.Fatal(err)
	}
	out, err := e.runJob(t, test)
	if exitCode(err) != 4 || !strings.Contains(out, "the plan has changes") {
		t.Errorf("helm test after changes by hand ended with %v, want exit status 4 saying the plan has changes\n%s", err, out)
	}
	if evs := e.events(t, "Job", release+"-tempo-tenancy-test"); !slices.Contains(evs, "Warning/DriftFound") {
		t.Errorf("helm test's Events: %v, want a DriftFound warning", evs)
	}

	cron := e.reconcileJob(t)
	out, err = e.runJob(t, cron)
	if err != nil {
		t.Fatalf("scheduled run: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	if tb, err := e.admin.GetTenant(ctx, "team-b"); err != nil || tb.Status != adminapi.StatusActive {
		t.Errorf("team-b after the scheduled run: %+v, %v; want active again", tb, err)
	}
	now, _ := e.secret(t, "team-a", "tempo-token")
	e.secrets = append(e.secrets, now["token"])
	if now["token"] == first["token"] || e.writeTraces(t, "team-a", now["token"]) != http.StatusOK {
		t.Errorf("the token revoked by hand was not re-created and written to its Secret\n%s", out)
	}
	cronName := release + "-tempo-tenancy-reconcile"
	if evs := e.events(t, "CronJob", cronName); !slices.Contains(evs, "Normal/DriftRepaired") || !slices.Contains(evs, "Normal/RunSucceeded") {
		t.Errorf("the scheduled run's Events: %v, want DriftRepaired and RunSucceeded", evs)
	}
	if out, err := e.runJob(t, test); err != nil {
		t.Errorf("helm test after the scheduled run: %v\n%s", err, out)
	}

	// Values that remove the Grafana token, with consent, applied without
	// the upgrade's hook: a scheduled run refuses the removal.
	withoutGrafana := e.values(t, strings.Replace(reconcileValues,
		"  - {namePrefix: grafana, accessPolicy: team-a-write, secret: {namespace: grafana, name: tempo-datasource, key: token}}\n", "", 1))
	allow := setFile(t, "runner:\n  allowRemovals:\n    tokens: [grafana]\n    secrets: [{namespace: grafana, name: tempo-datasource}]\n")
	apply := e.helmUpgrade(t, withoutGrafana, allow)
	out, err = e.runJob(t, e.reconcileJob(t))
	wantRefusal(t, err)
	if !strings.Contains(out, "A scheduled run never removes anything") {
		t.Errorf("the refusal does not say why:\n%s", out)
	}
	if s, _ := e.secret(t, "grafana", "tempo-datasource"); s == nil || e.writeTraces(t, "team-a", s["token"]) != http.StatusOK {
		t.Errorf("the scheduled run removed the Grafana token or its Secret")
	}
	if evs := e.events(t, "CronJob", cronName); !slices.Contains(evs, "Warning/RunRefused") {
		t.Errorf("the refused run's Events: %v, want RunRefused", evs)
	}

	if out, err := e.runJob(t, apply); err != nil {
		t.Fatalf("the upgrade that removes the Grafana token: %v\n%s", err, out)
	}
	if s, _ := e.secret(t, "grafana", "tempo-datasource"); s != nil {
		t.Errorf("the upgrade did not remove the Grafana token's Secret")
	}

	// The next upgrade's hook and a scheduled run at once: they take
	// turns, and both succeed; whichever goes second finds nothing to do.
	rotating := e.values(t, strings.Replace(reconcileValues,
		"  - {namePrefix: grafana, accessPolicy: team-a-write, secret: {namespace: grafana, name: tempo-datasource, key: token}}\n",
		"  - {namePrefix: rot, accessPolicy: team-a-write, expireAfter: 4m, earlyRotationWindow: 230s, expireAfterJitter: 5s, secret: {namespace: grafana, name: rotating, key: token},\n"+
			"     restart: [{kind: Deployment, name: reader}]}\n", 1))
	// A consumer that reads its token once, at start: restarted when the
	// token is replaced. (No controller runs here: its pod template is what
	// tells.)
	e.kube.Apply(t, object{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": object{"name": "reader", "namespace": "grafana"},
		"spec": object{"selector": object{"matchLabels": object{"app": "reader"}}, "template": object{
			"metadata": object{"labels": object{"app": "reader"}},
			"spec":     object{"containers": []any{object{"name": "reader", "image": "registry.example.internal/reader:1"}}}}}})
	hook, hookOut := e.startJob(t, e.helmUpgrade(t, rotating, allow))
	sched, schedOut := e.startJob(t, e.reconcileJob(t))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = hook.Wait() }()
	go func() { defer wg.Done(); errs[1] = sched.Wait() }()
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("an upgrade's hook and a scheduled run at once: %v, %v\n%s\n----\n%s", errs[0], errs[1], hookOut.String(), schedOut.String())
	}
	if tokens := e.liveTokens(t); len(tokens) != 2 {
		t.Errorf("live tokens after both runs: %v, want team-a's and the rotating one", tokens)
	}

	// A token whose early rotation window opens is rotated by the next
	// scheduled run; its consumer never meets a revoked token.
	before, _ := e.secret(t, "grafana", "rotating")
	e.secrets = append(e.secrets, before["token"])
	time.Sleep(12 * time.Second) // its window opens 10 s after its creation
	stop := e.consumer("grafana", "rotating", "token", "team-a")
	out, err = e.runJob(t, e.reconcileJob(t))
	refusals := stop()
	if err != nil {
		t.Fatalf("scheduled run in the rotation window: %v\n%s", err, out)
	}
	after, _ := e.secret(t, "grafana", "rotating")
	e.secrets = append(e.secrets, after["token"])
	e.noSecrets(t, out)
	if after["token"] == before["token"] {
		t.Errorf("the scheduled run did not rotate the token in its window\n%s", out)
	}
	if len(refusals) > 0 {
		t.Errorf("during the scheduled rotation the consumer was refused %d times, first: %s", len(refusals), refusals[0])
	}
	if code := e.writeTraces(t, "team-a", before["token"]); code != http.StatusUnauthorized {
		t.Errorf("the rotated-out token after the run: HTTP %d, want 401", code)
	}
	code, body := e.kube.Do(t, "GET", "/apis/apps/v1/namespaces/grafana/deployments/reader", nil, "")
	var d struct {
		Spec struct {
			Template struct {
				Metadata struct{ Annotations map[string]string }
			}
		}
	}
	_ = json.Unmarshal(body, &d)
	if code != http.StatusOK || d.Spec.Template.Metadata.Annotations["tempo-tenancy/restarted-at"] == "" || !strings.Contains(out, "Deployment grafana/reader restarted") {
		t.Errorf("the Deployment reading the rotated token was not restarted (HTTP %d): %s\n%s", code, body, out)
	}
	if evs := e.events(t, "CronJob", cronName); !slices.Contains(evs, "Normal/TokensRotated") {
		t.Errorf("the rotating run's Events: %v, want TokensRotated", evs)
	}
}
