package incluster_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/kubetest"
)

// The runner's ServiceAccount may write its record ConfigMap, and anyone
// who edits ConfigMaps in the release namespace may write the chart's own
// -config ConfigMap. Neither may change what the next render grants: a
// namespace that ends the YAML document and adds a ClusterRoleBinding, or
// a well-formed entry naming a Secret the runner never wrote, must grant
// nothing. Tried against a real kube-apiserver with a real helm upgrade,
// the way an attacker would.
func TestChartGrantsComeFromValuesOnly(t *testing.T) {
	kubetest.SkipUnlessEnabled(t)
	kube := kubetest.Start(t)
	kubeconfig := kube.Kubeconfig(t, kube.AdminToken)
	for _, ns := range []string{releaseNS, "team-a", "kube-system"} {
		kube.Apply(t, object{"apiVersion": "v1", "kind": "Namespace", "metadata": object{"name": ns}})
	}
	kube.Apply(t, object{"apiVersion": "v1", "kind": "Secret",
		"metadata":   object{"name": "cloud-credentials", "namespace": "kube-system"},
		"stringData": object{"key": "cloud-provider-key"}})

	values := filepath.Join(t.TempDir(), "values.yaml")
	writeFile(t, values, []byte(`adminApi:
  url: http://tempo-admin-api.tempo.svc:3100
  cluster: tempo
  tokenSecret: {name: tempo-admin-token, key: token}
state:
  encryption:
    keySecret: {name: tempo-tenancy-state-key, key: passphrase}
networkPolicy:
  kubernetesApi: {cidrs: [127.0.0.1/32]}
runner:
  image: {repository: registry.example.internal/tempo-tenancy-runner}
  podAnnotations: {sidecar.istio.io/inject: "false"}
  extraEnv: [{name: HTTPS_PROXY, value: "http://proxy.internal:3128"}]
  affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 1, preference: {matchExpressions: [{key: pool, operator: In, values: [system]}]}}]}}
  priorityClassName: system-cluster-critical
  ttlSecondsAfterFinished: 3600
tokens:
  - namePrefix: team-a-otel
    accessPolicy: team-a-write
    secret: {namespace: team-a, name: tempo-token, key: token}
`), 0o644)
	upgrade := func() {
		t.Helper()
		out, err := helm(t, "upgrade", "--install", "--no-hooks", release, chartDir, "--namespace", releaseNS, "--kubeconfig", kubeconfig, "-f", values)
		if err != nil {
			t.Fatalf("helm upgrade: %v\n%s", err, out)
		}
	}
	upgrade()

	// What an attacker writes: a namespace that closes the Role's document
	// and opens a ClusterRoleBinding to cluster-admin, made a pre-upgrade
	// hook so that it is created before anything else; and a well-formed
	// entry for a Secret of someone else.
	sa := "system:serviceaccount:" + releaseNS + ":" + release + "-tempo-tenancy"
	injected := "team-a\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n" +
		"metadata:\n  name: injected\n  annotations:\n    helm.sh/hook: pre-upgrade\n" +
		"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n" +
		"subjects: [{kind: ServiceAccount, name: " + release + "-tempo-tenancy, namespace: " + releaseNS + "}]\n" +
		"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: injected-tail\n  namespace: team-a"
	write := func(entries ...object) {
		t.Helper()
		record := object{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": object{"name": release + "-tempo-tenancy-written", "namespace": stateNS},
			"data":     object{"token-secrets.json": mustJSON(entries)}}
		if code, body := kube.DoWith(t, "PATCH", "/api/v1/namespaces/"+stateNS+"/configmaps/"+release+"-tempo-tenancy-written?fieldManager=tempo-tenancy&force=true",
			"application/apply-patch+yaml", record, sa); code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("writing the record as the runner: %d %s", code, body)
		}
		if code, body := kube.DoWith(t, "PATCH", "/api/v1/namespaces/"+releaseNS+"/configmaps/"+release+"-tempo-tenancy-config",
			"application/merge-patch+json", object{"data": object{"token-secrets.json": mustJSON(entries)}}, ""); code != http.StatusOK {
			t.Fatalf("editing the chart's ConfigMap: %d %s", code, body)
		}
	}

	// A well-formed entry first, then one that breaks out of the YAML.
	write(object{"namespace": "kube-system", "name": "cloud-credentials"})
	upgrade()
	if code, _ := kube.Do(t, "GET", "/api/v1/namespaces/kube-system/secrets/cloud-credentials", nil, sa); code != http.StatusForbidden {
		t.Errorf("after an upgrade, as the runner, GET kube-system/cloud-credentials: HTTP %d, want 403", code)
	}
	write(object{"namespace": injected, "name": "tempo-token"}, object{"namespace": "kube-system", "name": "cloud-credentials"})
	upgrade()

	for _, which := range []string{"manifest", "hooks"} {
		out, err := helm(t, "get", which, release, "--namespace", releaseNS, "--kubeconfig", kubeconfig)
		if err != nil {
			t.Fatalf("helm get %s: %v\n%s", which, err, out)
		}
		for _, o := range splitManifests(t, out) {
			kind, ns := o["kind"], get(o, "metadata", "namespace")
			if kind == "ClusterRole" || kind == "ClusterRoleBinding" || ns == "kube-system" || strings.Contains(fmt.Sprint(ns), "\n") {
				t.Errorf("the release's %s holds %v %v in %q", which, kind, get(o, "metadata", "name"), ns)
			}
			if kind == "Role" && slices.Contains([]any{"team-a", stateNS}, ns) {
				continue
			}
			// In the release namespace, where the admin token is: Events
			// and the release's own runner objects, never a Secret.
			if kind == "Role" && ns == releaseNS {
				for _, rule := range get(o, "rules").([]any) {
					for _, res := range strs(get(rule, "resources")) {
						if !slices.Contains([]string{"events", "jobs", "cronjobs"}, res) {
							t.Errorf("the release's Role in its own namespace grants %v on %s", strs(get(rule, "verbs")), res)
						}
					}
				}
				continue
			}
			if kind == "Role" {
				t.Errorf("the release grants a Role in %q, which its values never named", ns)
			}
		}
	}
	// The hook Jobs are valid for the API server, strictly (no kubelet runs
	// here, so they are created in a dry run).
	hooks, err := helm(t, "get", "hooks", release, "--namespace", releaseNS, "--kubeconfig", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, job := range byKind(splitManifests(t, hooks), "Job") {
		if code, body := kube.Do(t, "POST", "/apis/batch/v1/namespaces/"+releaseNS+"/jobs?dryRun=All&fieldValidation=Strict", job, ""); code != http.StatusCreated {
			t.Errorf("the API server refuses Job %v: %d %s", get(job, "metadata", "name"), code, body)
		}
	}
	if code, _ := kube.Do(t, "GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/injected", nil, ""); code != http.StatusNotFound {
		t.Errorf("the injected ClusterRoleBinding exists: HTTP %d", code)
	}
	if code, _ := kube.Do(t, "GET", "/api/v1/namespaces/kube-system/secrets/cloud-credentials", nil, sa); code != http.StatusForbidden {
		t.Errorf("as the runner, GET kube-system/cloud-credentials: HTTP %d, want 403", code)
	}
	if code, _ := kube.Do(t, "GET", "/api/v1/namespaces/team-a/secrets/tempo-token", nil, sa); code != http.StatusNotFound {
		t.Errorf("as the runner, GET its own token Secret (not written yet): HTTP %d, want 404", code)
	}
}
