// Package incluster_test checks the in-cluster pieces: the Helm chart renders
// what it must and rejects bad values, and the runner's entrypoint, run as
// the Job runs it, applies tenancy and writes token Secrets through a real
// Kubernetes API.
package incluster_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	chartDir  = "helm/tempo-tenancy"
	valuesDir = "helm/values"
)

// repoRoot is the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// tool returns a CLI from bin/, built by make tools.
func tool(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not built: run make tools (%v)", p, err)
	}
	return p
}

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool(t, "helm"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	err := cmd.Run()
	return out.String(), err
}

type object = map[string]any

// splitManifests decodes a multi-document YAML stream into objects.
func splitManifests(t *testing.T, stream string) []object {
	t.Helper()
	var objs []object
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(stream, -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs
}

// render runs helm template with the given values files.
func render(t *testing.T, release, namespace string, values ...string) []object {
	t.Helper()
	args := []string{"template", release, chartDir, "--namespace", namespace}
	for _, v := range values {
		args = append(args, "-f", v)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	return splitManifests(t, out)
}

// get walks a decoded object along keys and list indexes.
func get(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := o.(map[string]any)
			if !ok {
				return nil
			}
			o = m[k]
		case int:
			l, ok := o.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func byKind(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o["kind"] == kind {
			out = append(out, o)
		}
	}
	return out
}

func TestChartLint(t *testing.T) {
	for _, v := range []string{"minimal.yaml", "multi-namespace.yaml"} {
		if out, err := helm(t, "lint", "--strict", chartDir, "-f", filepath.Join(valuesDir, v)); err != nil {
			t.Errorf("helm lint with %s: %v\n%s", v, err, out)
		}
	}
}

// Each file in helm/values/bad starts with "# want: <regexp>": helm must
// refuse the values and say that, naming the field.
func TestChartRejectsBadValues(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(valuesDir, "bad", "*.yaml"))
	if len(files) < 10 {
		t.Fatalf("only %d bad values files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(b), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatal("the file does not start with # want: <regexp>")
			}
			out, err := helm(t, "template", "x", chartDir, "-f", filepath.Join(valuesDir, "minimal.yaml"), "-f", f)
			if err == nil {
				t.Fatalf("helm accepted the values:\n%s", out)
			}
			if !regexp.MustCompile(want).MatchString(strings.ReplaceAll(out, "\n", " ")) {
				t.Fatalf("the error does not match %q:\n%s", want, out)
			}
		})
	}
}

func TestChartJob(t *testing.T) {
	objs := render(t, "tenancy", "tempo", filepath.Join(valuesDir, "multi-namespace.yaml"))
	jobs := byKind(objs, "Job")
	if len(jobs) != 3 {
		t.Fatalf("%d Jobs, want the apply, the rollback and the test Job", len(jobs))
	}
	job := jobs[0]
	ann := get(job, "metadata", "annotations").(map[string]any)
	for k, want := range map[string]string{
		"helm.sh/hook":               "post-install,post-upgrade",
		"helm.sh/hook-weight":        "5",
		"helm.sh/hook-delete-policy": "before-hook-creation",
	} {
		if ann[k] != want {
			t.Errorf("annotation %s = %v, want %q", k, ann[k], want)
		}
	}
	checks := []struct {
		path []any
		want any
	}{
		{[]any{"spec", "backoffLimit"}, float64(1)},
		{[]any{"spec", "activeDeadlineSeconds"}, float64(900)},
		{[]any{"spec", "template", "spec", "restartPolicy"}, "Never"},
		{[]any{"spec", "template", "spec", "serviceAccountName"}, "tenancy-tempo-tenancy"},
		{[]any{"spec", "template", "spec", "securityContext", "runAsNonRoot"}, true},
		{[]any{"spec", "template", "spec", "securityContext", "seccompProfile", "type"}, "RuntimeDefault"},
		{[]any{"spec", "template", "spec", "containers", 0, "securityContext", "readOnlyRootFilesystem"}, true},
		{[]any{"spec", "template", "spec", "containers", 0, "securityContext", "allowPrivilegeEscalation"}, false},
		{[]any{"spec", "template", "spec", "containers", 0, "securityContext", "runAsNonRoot"}, true},
		{[]any{"spec", "template", "spec", "containers", 0, "securityContext", "seccompProfile", "type"}, "RuntimeDefault"},
		{[]any{"spec", "template", "spec", "containers", 0, "securityContext", "capabilities", "drop", 0}, "ALL"},
		{[]any{"spec", "template", "spec", "containers", 0, "resources", "limits", "memory"}, "512Mi"},
		{[]any{"spec", "template", "spec", "containers", 0, "resources", "requests", "cpu"}, "100m"},
		{[]any{"spec", "template", "spec", "containers", 0, "image"}, "registry.example.internal/tempo-tenancy-runner:0.1.0"},
	}
	for _, c := range checks {
		if got := get(job, c.path...); got != c.want {
			t.Errorf("%v = %v, want %v", c.path, got, c.want)
		}
	}
	// Every writable path is a volume; the admin token and CA are mounted read-only.
	mounts := map[string]bool{}
	for _, m := range get(job, "spec", "template", "spec", "containers", 0, "volumeMounts").([]any) {
		mounts[get(m, "mountPath").(string)] = get(m, "readOnly") == true
	}
	for path, ro := range map[string]bool{
		"/var/run/tempo-tenancy/config": true, "/var/run/tempo-tenancy/work": false, "/tmp": false,
		"/var/run/secrets/tempo/admin": true, "/var/run/secrets/tempo/ca": true,
	} {
		if got, ok := mounts[path]; !ok || got != ro {
			t.Errorf("mount %s: present %v, read-only %v; want read-only %v", path, ok, got, ro)
		}
	}
	// What holds secrets on their way (the scratch directory, TMPDIR) is
	// in memory: a killed run leaves nothing on the node's disk.
	env := map[string]string{}
	for _, e := range get(job, "spec", "template", "spec", "containers", 0, "env").([]any) {
		env[get(e, "name").(string)], _ = get(e, "value").(string)
	}
	byPath := map[string]string{}
	for _, m := range get(job, "spec", "template", "spec", "containers", 0, "volumeMounts").([]any) {
		byPath[get(m, "mountPath").(string)] = get(m, "name").(string)
	}
	for _, dir := range []string{env["TENANCY_SCRATCH_DIR"], env["TMPDIR"]} {
		var medium any
		for _, v := range get(job, "spec", "template", "spec", "volumes").([]any) {
			if get(v, "name") == byPath[dir] {
				medium = get(v, "emptyDir", "medium")
			}
		}
		if dir == "" || medium != "Memory" {
			t.Errorf("scratch directory %q is on volume %q of medium %v, want an emptyDir in memory", dir, byPath[dir], medium)
		}
	}
}

// What operators set on a Job's pod reaches it, the rollback Job's too:
// scheduling, annotations (an Istio sidecar would keep the Job from
// completing), more environment, the image by digest, the ServiceAccount's
// annotations. A refusal (exit 3) is not retried; an eviction does not
// count as a failure.
func TestChartOperatorSettings(t *testing.T) {
	defaults := render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml"))
	job := byKind(defaults, "Job")[0]
	if get(job, "spec", "template", "spec", "nodeSelector", "kubernetes.io/os") != "linux" {
		t.Errorf("nodeSelector = %v, want kubernetes.io/os: linux by default", get(job, "spec", "template", "spec", "nodeSelector"))
	}
	rules := get(job, "spec", "podFailurePolicy", "rules").([]any)
	if len(rules) != 2 || get(rules[0], "action") != "FailJob" || get(rules[0], "onExitCodes", "values", 0) != float64(3) ||
		get(rules[0], "onExitCodes", "containerName") != "runner" || get(rules[1], "action") != "Ignore" ||
		get(rules[1], "onPodConditions", 0, "type") != "DisruptionTarget" {
		t.Errorf("podFailurePolicy = %v", rules)
	}
	if get(job, "spec", "ttlSecondsAfterFinished") != nil || get(job, "spec", "template", "spec", "priorityClassName") != nil {
		t.Errorf("unset settings rendered: ttl %v, priority class %v", get(job, "spec", "ttlSecondsAfterFinished"), get(job, "spec", "template", "spec", "priorityClassName"))
	}

	digest := "sha256:" + strings.Repeat("ab", 32)
	objs := render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml"), setFile(t, `
runner:
  image: {digest: "`+digest+`"}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{matchExpressions: [{key: pool, operator: In, values: [system]}]}]
  priorityClassName: system-cluster-critical
  podAnnotations: {sidecar.istio.io/inject: "false"}
  extraEnv:
    - {name: HTTPS_PROXY, value: "http://proxy.internal:3128"}
    - name: NO_PROXY
      valueFrom: {configMapKeyRef: {name: proxy, key: no-proxy}}
  ttlSecondsAfterFinished: 3600
  serviceAccount:
    annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/tenancy"}
`))
	for _, job := range byKind(objs, "Job") {
		pod := get(job, "spec", "template", "spec")
		ctr := get(pod, "containers", 0)
		if got := get(ctr, "image"); got != "registry.example.internal/tempo-tenancy-runner@"+digest {
			t.Errorf("image = %v, want the digest", got)
		}
		if get(pod, "affinity", "nodeAffinity") == nil || get(pod, "priorityClassName") != "system-cluster-critical" {
			t.Errorf("affinity %v, priority class %v", get(pod, "affinity"), get(pod, "priorityClassName"))
		}
		if get(job, "spec", "template", "metadata", "annotations", "sidecar.istio.io/inject") != "false" ||
			get(job, "spec", "template", "metadata", "annotations", "checksum/config") == nil {
			t.Errorf("pod annotations = %v", get(job, "spec", "template", "metadata", "annotations"))
		}
		if get(job, "spec", "ttlSecondsAfterFinished") != float64(3600) {
			t.Errorf("ttlSecondsAfterFinished = %v", get(job, "spec", "ttlSecondsAfterFinished"))
		}
		env := map[string]any{}
		for _, e := range get(ctr, "env").([]any) {
			env[get(e, "name").(string)] = e
		}
		if get(env["HTTPS_PROXY"], "value") != "http://proxy.internal:3128" || get(env["NO_PROXY"], "valueFrom", "configMapKeyRef", "key") != "no-proxy" {
			t.Errorf("extraEnv rendered as %v and %v", env["HTTPS_PROXY"], env["NO_PROXY"])
		}
	}
	sa := byKind(objs, "ServiceAccount")[0]
	if get(sa, "metadata", "annotations", "eks.amazonaws.com/role-arn") == nil {
		t.Errorf("ServiceAccount annotations = %v", get(sa, "metadata", "annotations"))
	}
}

// Every object name fits in 63 characters whatever the release name (helm
// allows 53), so that a Job's pods can carry it in their job-name label.
func TestChartNamesFitAnyRelease(t *testing.T) {
	long := strings.Repeat("r", 53)
	for _, o := range render(t, long, "tempo", filepath.Join(valuesDir, "multi-namespace.yaml"), setFile(t, "runner:\n  cleanupOnUninstall: true\n")) {
		name, _ := get(o, "metadata", "name").(string)
		if len(name) > 63 {
			t.Errorf("%s %s: %d characters", o["kind"], name, len(name))
		}
	}
}

// setFile writes a values file for one test.
func setFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The admin API rule names the port its pods listen on, which the Service
// may map from another.
func TestChartNetworkPolicyTargetPort(t *testing.T) {
	np := byKind(render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml"), setFile(t, "adminApi:\n  targetPort: 8080\n")), "NetworkPolicy")[0]
	if got := get(np, "spec", "egress", 0, "ports", 0, "port"); got != float64(8080) {
		t.Errorf("admin API rule port = %v, want the target port 8080", got)
	}
}

// A rollback replays the hooks of the revision it returns to, values and
// all: its Job never carries that revision's allowances, so returning to a
// revision that allowed removals does not allow them again.
func TestChartRollbackAllowsNoRemovals(t *testing.T) {
	jobs := byKind(render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml"),
		setFile(t, "runner:\n  allowDestroy: true\n  allowRemovals: {tenants: [team-b]}\n")), "Job")
	env := func(job object) map[string]any {
		out := map[string]any{}
		for _, v := range get(job, "spec", "template", "spec", "containers", 0, "env").([]any) {
			out[get(v, "name").(string)] = get(v, "value")
		}
		return out
	}
	for _, j := range jobs {
		name, hook := get(j, "metadata", "name"), get(j, "metadata", "annotations", "helm.sh/hook")
		e := env(j)
		switch hook {
		case "post-rollback":
			if e["TENANCY_ALLOW_DESTROY"] != "false" || e["TENANCY_ALLOWED_REMOVALS"] != "[]" {
				t.Errorf("rollback Job %v allows removals: %v %v", name, e["TENANCY_ALLOW_DESTROY"], e["TENANCY_ALLOWED_REMOVALS"])
			}
		case "post-install,post-upgrade":
			if e["TENANCY_ALLOW_DESTROY"] != "true" || !strings.Contains(e["TENANCY_ALLOWED_REMOVALS"].(string), "team-b") {
				t.Errorf("upgrade Job %v lost its allowances: %v %v", name, e["TENANCY_ALLOW_DESTROY"], e["TENANCY_ALLOWED_REMOVALS"])
			}
		case "test":
			if e["TENANCY_ALLOW_DESTROY"] != "false" || e["TENANCY_ALLOWED_REMOVALS"] != "[]" || get(j, "spec", "template", "spec", "containers", 0, "args", 0) != "plan" {
				t.Errorf("test Job %v does more than plan: %v", name, e)
			}
		default:
			t.Errorf("Job %v with hook %v", name, hook)
		}
	}
	// Nor does the schedule ever carry them.
	crons := byKind(render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml"),
		setFile(t, "runner:\n  allowDestroy: true\n  allowRemovals: {tenants: [team-b]}\n")), "CronJob")
	if len(crons) != 1 {
		t.Fatalf("%d CronJobs, want the reconcile one", len(crons))
	}
	job := object{"spec": get(crons[0], "spec", "jobTemplate", "spec")}
	if e := env(job); e["TENANCY_ALLOW_DESTROY"] != "false" || e["TENANCY_ALLOWED_REMOVALS"] != "[]" ||
		get(job, "spec", "template", "spec", "containers", 0, "args", 0) != "reconcile" {
		t.Errorf("the CronJob's runs carry allowances or another mode: %v", e)
	}
}

// The schedule is on by default, one run at a time, at a minute of the
// release's own; it can be set, suspended or turned off.
func TestChartReconcileSchedule(t *testing.T) {
	cron := func(name, ns string, extra ...string) object {
		files := []string{filepath.Join(valuesDir, "minimal.yaml")}
		for _, v := range extra {
			files = append(files, setFile(t, v))
		}
		crons := byKind(render(t, name, ns, files...), "CronJob")
		if len(crons) == 0 {
			return nil
		}
		return crons[0]
	}
	a, b := cron("tenancy", "tempo"), cron("tenancy", "observability")
	if a == nil || get(a, "spec", "concurrencyPolicy") != "Forbid" || get(a, "spec", "suspend") != false {
		t.Fatalf("default CronJob: %v", a)
	}
	if get(a, "spec", "schedule") == get(b, "spec", "schedule") {
		t.Errorf("two releases run at the same minute by default: %v", get(a, "spec", "schedule"))
	}
	if got := get(cron("tenancy", "tempo", "reconcile:\n  schedule: \"*/15 * * * *\"\n  suspend: true\n"), "spec"); get(got, "schedule") != "*/15 * * * *" || get(got, "suspend") != true {
		t.Errorf("schedule and suspend from values: %v", got)
	}
	if c := cron("tenancy", "tempo", "reconcile:\n  enabled: false\n"); c != nil {
		t.Error("reconcile.enabled: false still renders a CronJob")
	}
	if _, err := helm(t, "template", "x", chartDir, "-f", filepath.Join(valuesDir, "minimal.yaml"), "-f", setFile(t, "reconcile:\n  schedule: every hour\n")); err == nil {
		t.Error("a schedule that is not cron was accepted")
	}
}

// OpenShift assigns the UID: runAsUser null leaves it, and the group and
// fsGroup, to the platform.
func TestChartRunAsUserOptional(t *testing.T) {
	job := byKind(render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml"), setFile(t, "runner:\n  runAsUser: null\n")), "Job")[0]
	sc := get(job, "spec", "template", "spec", "securityContext").(map[string]any)
	for _, k := range []string{"runAsUser", "runAsGroup", "fsGroup"} {
		if _, ok := sc[k]; ok {
			t.Errorf("securityContext.%s = %v with runAsUser null", k, sc[k])
		}
	}
	if sc["runAsNonRoot"] != true {
		t.Errorf("runAsNonRoot = %v", sc["runAsNonRoot"])
	}
}

// Uninstall cleans up only when asked: then a pre-delete Job runs the
// entrypoint's destroy mode, and is removed once it succeeded.
func TestChartCleanupOnUninstall(t *testing.T) {
	if jobs := byKind(render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml")), "Job"); len(jobs) != 3 {
		t.Fatalf("%d Jobs by default, want only the apply, rollback and test Jobs", len(jobs))
	}
	jobs := byKind(render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml"), setFile(t, "runner:\n  cleanupOnUninstall: true\n")), "Job")
	if len(jobs) != 4 {
		t.Fatalf("%d Jobs with cleanupOnUninstall, want 4", len(jobs))
	}
	var d object
	for _, j := range jobs {
		if get(j, "metadata", "annotations", "helm.sh/hook") == "pre-delete" {
			d = j
		}
	}
	if d == nil {
		t.Fatal("no pre-delete Job with cleanupOnUninstall")
	}
	if get(d, "metadata", "annotations", "helm.sh/hook") != "pre-delete" ||
		get(d, "metadata", "annotations", "helm.sh/hook-delete-policy") != "before-hook-creation,hook-succeeded" ||
		get(d, "spec", "template", "spec", "containers", 0, "args", 0) != "destroy" {
		t.Errorf("cleanup Job = %v", d["metadata"])
	}
}

// The RBAC and NetworkPolicy manifests are compared with golden files, and
// the Secrets the runner may touch are checked against the values exactly.
func TestChartRBACAndNetworkPolicy(t *testing.T) {
	objs := render(t, "tenancy", "tempo", filepath.Join(valuesDir, "multi-namespace.yaml"))
	const stateNS = "tenancy-tempo-tenancy-state"

	grants := map[string][]string{}
	for _, r := range byKind(objs, "Role") {
		ns := get(r, "metadata", "namespace").(string)
		for _, rule := range get(r, "rules").([]any) {
			res := strs(get(rule, "resources"))
			verbs := strs(get(rule, "verbs"))
			names := get(rule, "resourceNames")
			if slices.Contains(verbs, "*") || slices.Contains(res, "*") {
				t.Errorf("role %s/%v grants a wildcard", ns, get(r, "metadata", "name"))
			}
			// Events can only be created unnamed; the release namespace's
			// role grants nothing else without names.
			events := ns == "tempo" && slices.Equal(res, []string{"events"}) && slices.Equal(verbs, []string{"create"})
			if ns != stateNS && names == nil && !events {
				t.Errorf("role in %s grants %v on %v without naming the objects", ns, verbs, res)
			}
			if ns == "tempo" && slices.Contains(res, "secrets") {
				t.Errorf("role in the release namespace, where the admin token is, grants %v on Secrets", verbs)
			}
			if names != nil && slices.Contains(res, "secrets") && !strings.HasPrefix(strs(names)[0], "tfstate-") {
				grants[ns] = append(grants[ns], strs(names)...)
			}
		}
	}
	want := map[string][]string{
		"grafana": {"tempo-datasource", "tempo-datasource-backup"},
		"team-a":  {"tempo-token"},
		"team-b":  {"tempo-token"},
	}
	if b1, b2 := mustJSON(grants), mustJSON(want); b1 != b2 {
		t.Errorf("token Secret grants = %s, want %s", b1, b2)
	}
	for _, rb := range byKind(objs, "RoleBinding") {
		subj := get(rb, "subjects", 0)
		if get(subj, "kind") != "ServiceAccount" || get(subj, "name") != "tenancy-tempo-tenancy" || get(subj, "namespace") != "tempo" {
			t.Errorf("role binding %v binds %v", get(rb, "metadata", "name"), subj)
		}
	}

	var golden []object
	for _, o := range objs {
		switch o["kind"] {
		case "Role", "RoleBinding", "NetworkPolicy", "ServiceAccount":
			golden = append(golden, o)
		}
	}
	got, err := yaml.Marshal(golden)
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "testdata/multi-namespace-rbac-netpol.golden.yaml", got)

	np := byKind(objs, "NetworkPolicy")
	if len(np) != 1 {
		t.Fatalf("%d NetworkPolicies, want 1", len(np))
	}
	if types := strs(get(np[0], "spec", "policyTypes")); !slices.Contains(types, "Egress") || !slices.Contains(types, "Ingress") {
		t.Errorf("policyTypes = %v", types)
	}
	egress := get(np[0], "spec", "egress").([]any)
	if len(egress) != 3 {
		t.Fatalf("%d egress rules, want admin API, Kubernetes API and DNS", len(egress))
	}
	for i, rule := range egress {
		if to, _ := get(rule, "to").([]any); len(to) == 0 {
			t.Errorf("egress rule %d has no destination: it allows every address", i)
		}
	}
	if get(egress[0], "ports", 0, "port") != float64(3100) || get(egress[0], "to", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") != "tempo" {
		t.Errorf("admin API rule = %v", egress[0])
	}
	if get(egress[1], "to", 0, "ipBlock", "cidr") != "10.0.0.1/32" || get(egress[1], "ports", 0, "port") != float64(6443) {
		t.Errorf("Kubernetes API rule = %v", egress[1])
	}
	if get(egress[2], "ports", 0, "port") != float64(53) {
		t.Errorf("DNS rule = %v", egress[2])
	}
}

// The Terraform variables are generated from the values, not written by hand.
func TestChartGeneratesTerraformVariables(t *testing.T) {
	objs := render(t, "tenancy", "tempo", filepath.Join(valuesDir, "multi-namespace.yaml"))
	cm := byKind(objs, "ConfigMap")[0]
	var vars struct {
		Tenants        map[string]map[string]any `json:"tenants"`
		AccessPolicies map[string]struct {
			Scopes []string `json:"scopes"`
			Realms []struct {
				Tenant, Cluster string
				LabelPolicies   []string `json:"label_policies"`
			} `json:"realms"`
		} `json:"access_policies"`
		Tokens map[string]struct {
			Name         string `json:"name"`
			NamePrefix   string `json:"name_prefix"`
			AccessPolicy string `json:"access_policy"`
			Rotation     string `json:"rotation"`
			Jitter       string `json:"expire_after_jitter"`
			Secret       struct{ Namespace, Name, Key string }
		} `json:"tokens"`
		CACertFile string `json:"ca_cert_file"`
	}
	if err := json.Unmarshal([]byte(get(cm, "data", "terraform.tfvars.json").(string)), &vars); err != nil {
		t.Fatal(err)
	}
	if len(vars.Tenants) != 2 || vars.Tenants["team-a"]["display_name"] != "Team A" {
		t.Errorf("tenants = %v", vars.Tenants)
	}
	gr := vars.AccessPolicies["grafana-read"]
	if len(gr.Realms) != 2 || gr.Realms[1].Cluster != "tempo" || gr.Realms[1].LabelPolicies[0] != `{env="prod"}` {
		t.Errorf("grafana-read = %+v", gr)
	}
	tok := vars.Tokens["team-b-otel"]
	if tok.NamePrefix != "team-b-otel" || tok.Secret.Namespace != "team-b" || tok.Secret.Key != "password" {
		t.Errorf("team-b-otel = %+v", tok)
	}
	if b := vars.Tokens["grafana-backup"]; b.Jitter != "48h" {
		t.Errorf("grafana-backup = %+v, want expire_after_jitter 48h", b)
	}
	if vars.CACertFile != "/var/run/secrets/tempo/ca/ca.crt" {
		t.Errorf("ca_cert_file = %q", vars.CACertFile)
	}
	var backend map[string]any
	_ = json.Unmarshal([]byte(get(cm, "data", "backend.tf.json").(string)), &backend)
	k := get(backend, "terraform", "backend", "kubernetes")
	if get(k, "secret_suffix") != "tenancy-tempo-tenancy" || get(k, "in_cluster_config") != true || get(k, "namespace") != "tenancy-tempo-tenancy-state" {
		t.Errorf("backend = %v", k)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendering; review the change and run go test -update:\n%s", path, got)
	}
}

// state.parts: the token parts' state Secrets and locks are named in the
// ConfigMap for the runner and granted by name, and the token count per
// part is bounded when the state is encrypted.
func TestChartStateParts(t *testing.T) {
	objs := render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml"), setFile(t, "state:\n  parts: 3\nrunner:\n  partParallelism: 4\n"))
	cm := byKind(objs, "ConfigMap")[0]
	var parts []string
	if err := json.Unmarshal([]byte(get(cm, "data", "state-parts.json").(string)), &parts); err != nil {
		t.Fatal(err)
	}
	if want := []string{"tenancy-tempo-tenancy-part-0", "tenancy-tempo-tenancy-part-1", "tenancy-tempo-tenancy-part-2"}; !slices.Equal(parts, want) {
		t.Errorf("state-parts.json = %v, want %v", parts, want)
	}
	var role object
	for _, r := range byKind(objs, "Role") {
		if strings.HasSuffix(get(r, "metadata", "name").(string), "-state") {
			role = r
		}
	}
	granted := map[string]bool{}
	for _, rule := range get(role, "rules").([]any) {
		names, _ := get(rule, "resourceNames").([]any)
		for _, n := range names {
			granted[n.(string)] = true
		}
	}
	for _, p := range append([]string{"tenancy-tempo-tenancy"}, parts...) {
		if !granted["tfstate-default-"+p] || !granted["lock-tfstate-default-"+p] {
			t.Errorf("the state Role does not grant the Secret and lock of %s: %v", p, granted)
		}
	}
	env := map[string]any{}
	for _, v := range get(byKind(objs, "Job")[0], "spec", "template", "spec", "containers", 0, "env").([]any) {
		env[get(v, "name").(string)] = get(v, "value")
	}
	if env["TENANCY_PART_PARALLELISM"] != "4" {
		t.Errorf("TENANCY_PART_PARALLELISM = %v, want 4", env["TENANCY_PART_PARALLELISM"])
	}
	// The backend puts a part's suffix in a label: 63 characters at most,
	// whatever the release name.
	long := render(t, strings.Repeat("r", 53), "tempo", filepath.Join(valuesDir, "minimal.yaml"), setFile(t, "state:\n  parts: 12\n"))
	var longParts []string
	_ = json.Unmarshal([]byte(get(byKind(long, "ConfigMap")[0], "data", "state-parts.json").(string)), &longParts)
	if len(longParts) != 12 || len(slices.Compact(slices.Sorted(slices.Values(longParts)))) != 12 {
		t.Errorf("12 distinct parts wanted: %v", longParts)
	}
	for _, p := range longParts {
		if len(p) > 63 {
			t.Errorf("part suffix %s: %d characters", p, len(p))
		}
	}
	one := render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml"))
	if got := get(byKind(one, "ConfigMap")[0], "data", "state-parts.json"); got != "[]" {
		t.Errorf("one state: state-parts.json = %v, want []", got)
	}

	tokens := func(n int) string {
		var b strings.Builder
		b.WriteString("tokens:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - {namePrefix: t%d, accessPolicy: team-a-write, secret: {namespace: tempo, name: tok-%d, key: token}}\n", i, i)
		}
		return b.String()
	}
	for _, tc := range []struct {
		parts, tokens int
		want          string
	}{
		{1, 281, "281 tokens in one state; at most 280 .* set state.parts to 2 or more"},
		{3, 601, "601 tokens in 3 state parts; at most 200 per part .* set state.parts to 4 or more"},
	} {
		out, err := helm(t, "template", "x", chartDir, "-f", filepath.Join(valuesDir, "minimal.yaml"),
			"-f", setFile(t, fmt.Sprintf("state:\n  parts: %d\n", tc.parts)), "-f", setFile(t, tokens(tc.tokens)))
		if err == nil || !regexp.MustCompile(tc.want).MatchString(strings.ReplaceAll(out, "\n", " ")) {
			t.Errorf("%d tokens in %d parts: err %v, want %q:\n%s", tc.tokens, tc.parts, err, tc.want, tail(out, 5))
		}
	}
	for _, ok := range []struct{ parts, tokens int }{{1, 280}, {3, 600}} {
		if out, err := helm(t, "template", "x", chartDir, "-f", filepath.Join(valuesDir, "minimal.yaml"),
			"-f", setFile(t, fmt.Sprintf("state:\n  parts: %d\n", ok.parts)), "-f", setFile(t, tokens(ok.tokens))); err != nil {
			t.Errorf("%d tokens in %d parts refused: %v\n%s", ok.tokens, ok.parts, err, tail(out, 5))
		}
	}
}
