package incluster_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// argoSync does what Argo CD does with the chart: it renders it with helm
// template (no lookup, no release), applies every resource that is not a
// hook, without Helm, then runs the hook Argo CD runs after a sync. Helm's
// own hook annotations mean nothing there; only Argo CD's count.
func (e *runnerEnv) argoSync(t *testing.T, values ...string) (string, error) {
	t.Helper()
	var postSync []object
	for _, o := range render(t, release, releaseNS, values...) {
		name := get(o, "metadata", "name")
		switch hook := get(o, "metadata", "annotations", "argocd.argoproj.io/hook"); hook {
		case nil:
			if get(o, "kind") == "Job" {
				t.Fatalf("Job %v has no Argo CD hook: Argo CD would run it as a plain resource on every sync", name)
			}
			e.kube.Apply(t, o)
		case "PostSync":
			postSync = append(postSync, o)
		case "Skip", "PreDelete":
			// Not part of a sync.
		default:
			t.Fatalf("%v: Argo CD hook %v is not one the chart means to use", name, hook)
		}
	}
	if len(postSync) != 1 || !strings.HasSuffix(get(postSync[0], "metadata", "name").(string), "-apply") {
		t.Fatalf("want the apply Job as the one PostSync hook, got %d", len(postSync))
	}
	return e.runJob(t, postSync[0])
}

// TestArgoStyleSyncAndRollback: removals converge when the chart is synced
// the way Argo CD does, and an Argo CD rollback (a sync to an older
// revision, whose values allowed a removal) does not remove again what that
// allowance already removed once.
func TestArgoStyleSyncAndRollback(t *testing.T) {
	e := newRunnerEnv(t)
	ctx := context.Background()
	status := func(tenant string) string {
		t.Helper()
		tn, err := e.admin.GetTenant(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		return tn.Status
	}

	v1 := e.values(t, valuesV1)
	if out, err := e.argoSync(t, v1); err != nil {
		t.Fatalf("first sync: %v\n%s", err, out)
	}
	grafana, _ := e.secret(t, "grafana", "tempo-datasource")
	if grafana["token"] == "" {
		t.Fatal("the first sync wrote no token Secret")
	}

	// Revision 2 removes team-b and the grafana token, with consent: the
	// tenant is deactivated, the token revoked and its Secret deleted.
	v2 := []string{e.values(t, valuesV2), setFile(t, allowV2)}
	out, err := e.argoSync(t, v2...)
	if err != nil {
		t.Fatalf("second sync: %v\n%s", err, out)
	}
	if s := status("team-b"); s != adminapi.StatusInactive {
		t.Errorf("team-b is %s after the removal", s)
	}
	if s, _ := e.secret(t, "grafana", "tempo-datasource"); s != nil {
		t.Error("the removed token's Secret is still there")
	}
	if e.writeTraces(t, "team-a", grafana["token"]) != 401 {
		t.Error("the removed token still authorizes")
	}

	// Revision 3 brings team-b back.
	if out, err := e.argoSync(t, v1); err != nil {
		t.Fatalf("third sync: %v\n%s", err, out)
	}
	if s := status("team-b"); s != adminapi.StatusActive {
		t.Fatalf("team-b is %s after revision 3", s)
	}

	// An Argo CD rollback to revision 2 runs its Job with its allowance:
	// refused, and team-b stays.
	out, err = e.argoSync(t, v2...)
	if err == nil {
		t.Fatalf("a rollback re-used a consent already used:\n%s", out)
	}
	wantRefusal(t, err)
	for _, want := range []string{`tempo_tenant.this["team-b"] (deactivate): consent "" used at`, "nothing was applied", "runner.consentId"} {
		if !strings.Contains(out, want) {
			t.Errorf("the refused rollback's output lacks %q:\n%s", want, out)
		}
	}
	if s := status("team-b"); s != adminapi.StatusActive {
		t.Errorf("team-b is %s after the refused rollback", s)
	}

	// A new consent removes it again.
	out, err = e.argoSync(t, append(v2, setFile(t, "runner:\n  consentId: second\n"))...)
	if err != nil {
		t.Fatalf("sync with a new consent: %v\n%s", err, out)
	}
	if s := status("team-b"); s != adminapi.StatusInactive {
		t.Errorf("team-b is %s after the new consent", s)
	}
	e.noSecrets(t, out)
}
