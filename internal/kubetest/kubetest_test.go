package kubetest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	testNS     = "kubetest-rbac"
	testSA     = "reader"
	readable   = "readable"
	unreadable = "unreadable"
)

// TestCluster starts the real binaries once and checks, in subtests, what
// the in-cluster runner's tests rely on.
func TestCluster(t *testing.T) {
	SkipUnlessEnabled(t)
	start := time.Now()
	c := Start(t)
	t.Logf("etcd and kube-apiserver ready at %s in %s", c.URL, time.Since(start).Round(time.Millisecond))

	if !strings.HasPrefix(c.URL, "https://127.0.0.1:") {
		t.Fatalf("URL = %q, want https://127.0.0.1:<port>", c.URL)
	}
	if b, err := os.ReadFile(c.CAFile); err != nil || string(b) != string(c.CAPEM) {
		t.Fatalf("CAFile %s does not hold CAPEM (%v)", c.CAFile, err)
	}

	t.Run("AdminIsInSystemMasters", func(t *testing.T) {
		status, body := c.Do(t, http.MethodPost, "/apis/authentication.k8s.io/v1/selfsubjectreviews",
			map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, "")
		if status != http.StatusCreated {
			t.Fatalf("SelfSubjectReview: %d %s", status, body)
		}
		var r struct {
			Status struct {
				UserInfo struct {
					Username string   `json:"username"`
					Groups   []string `json:"groups"`
				} `json:"userInfo"`
			} `json:"status"`
		}
		mustUnmarshal(t, body, &r)
		if r.Status.UserInfo.Username != AdminUser || !slices.Contains(r.Status.UserInfo.Groups, "system:masters") {
			t.Fatalf("admin is %+v", r.Status.UserInfo)
		}
	})

	c.Apply(t, rbacFixture()...)
	saUser := "system:serviceaccount:" + testNS + ":" + testSA
	secrets := "/api/v1/namespaces/" + testNS + "/secrets"

	t.Run("ImpersonatedServiceAccount", func(t *testing.T) {
		// RBAC reads roles from a cache: allow it a moment to see the new ones.
		var status int
		var body []byte
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			status, body = c.Do(t, http.MethodGet, secrets+"/"+readable, nil, saUser)
			if status == http.StatusOK || time.Now().After(deadline) {
				break
			}
		}
		if status != http.StatusOK {
			t.Fatalf("GET %s as %s: %d %s", readable, saUser, status, body)
		}
		var s struct {
			Data map[string]string `json:"data"`
		}
		mustUnmarshal(t, body, &s)
		if s.Data["k"] != "dg==" { // base64 of "v"
			t.Fatalf("secret data = %v", s.Data)
		}
		if status, body := c.Do(t, http.MethodGet, secrets+"/"+unreadable, nil, saUser); status != http.StatusForbidden {
			t.Fatalf("GET %s as %s: %d %s, want 403", unreadable, saUser, status, body)
		}
		if status, body := c.Do(t, http.MethodGet, secrets, nil, saUser); status != http.StatusForbidden {
			t.Fatalf("LIST secrets as %s: %d %s, want 403", saUser, status, body)
		}
		// The admin sees both.
		if status, body := c.Do(t, http.MethodGet, secrets, nil, ""); status != http.StatusOK || !strings.Contains(string(body), unreadable) {
			t.Fatalf("LIST secrets as admin: %d %s", status, body)
		}
	})

	t.Run("ServiceAccountToken", func(t *testing.T) {
		token := c.ServiceAccountToken(t, testNS, testSA)
		client := caClient(t, c.CAPEM)
		get := func(path string) int {
			t.Helper()
			req, err := http.NewRequest(http.MethodGet, c.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := get(secrets + "/" + readable); got != http.StatusOK {
			t.Fatalf("GET %s with the SA token: %d, want 200", readable, got)
		}
		if got := get(secrets + "/" + unreadable); got != http.StatusForbidden {
			t.Fatalf("GET %s with the SA token: %d, want 403", unreadable, got)
		}
		if got := get(secrets); got != http.StatusForbidden {
			t.Fatalf("LIST secrets with the SA token: %d, want 403", got)
		}
		if got := get("/api/v1/namespaces/" + testNS + "/configmaps"); got != http.StatusForbidden {
			t.Fatalf("LIST configmaps with the SA token: %d, want 403", got)
		}

		// A token the server did not issue is rejected.
		token = "not-a-token"
		if got := get(secrets + "/" + readable); got != http.StatusUnauthorized {
			t.Fatalf("GET with a bad token: %d, want 401", got)
		}
	})

	t.Run("Kubeconfig", func(t *testing.T) {
		path := c.Kubeconfig(t, "tok-123")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"server: \"" + c.URL + "\"",
			"certificate-authority: \"" + c.CAFile + "\"",
			"token: \"tok-123\"",
			"current-context: kubetest",
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("kubeconfig lacks %q:\n%s", want, b)
			}
		}
	})

	t.Run("ApplyIsIdempotent", func(t *testing.T) {
		objs := allKinds("v1")
		c.Apply(t, objs...)
		cm := "/api/v1/namespaces/kubetest-apply/configmaps/cm"
		rv1 := metaOf(t, c, cm).ResourceVersion
		c.Apply(t, objs...) // same objects again: no error, no change
		if rv2 := metaOf(t, c, cm).ResourceVersion; rv2 != rv1 {
			t.Fatalf("an identical apply changed the configmap: resourceVersion %s -> %s", rv1, rv2)
		}
		if got := configMapValue(t, c, cm); got != "v1" {
			t.Fatalf("configmap value = %q, want v1", got)
		}
		job := "/apis/batch/v1/namespaces/kubetest-apply/jobs/job"
		uid1 := metaOf(t, c, job).UID
		c.Apply(t, allKinds("v2")...) // changed objects: updated in place
		if got := configMapValue(t, c, cm); got != "v2" {
			t.Fatalf("configmap value after the second apply = %q, want v2", got)
		}
		// The Job's template is immutable: Apply replaced the Job.
		if uid2 := metaOf(t, c, job).UID; uid2 == uid1 {
			t.Fatalf("job not replaced (uid %s)", uid1)
		}
		if status, body := c.Do(t, http.MethodGet, job, nil, ""); status != http.StatusOK || !strings.Contains(string(body), "runner:v2") {
			t.Fatalf("job after the second apply: %d %s", status, body)
		}
		// Every kind landed where Apply put it.
		for _, o := range objs {
			meta := o["metadata"].(map[string]any)
			ns, _ := meta["namespace"].(string)
			path := c.ObjectPath(t, o["apiVersion"].(string), o["kind"].(string), ns, meta["name"].(string))
			if status, body := c.Do(t, http.MethodGet, path, nil, ""); status != http.StatusOK {
				t.Errorf("GET %s: %d %s", path, status, body)
			}
		}
		// The namespace Apply created on demand keeps the labels a Namespace
		// applied in the same call set.
		status, body := c.Do(t, http.MethodGet, "/api/v1/namespaces/kubetest-apply", nil, "")
		if status != http.StatusOK || !strings.Contains(string(body), `"tempo.test/label":"yes"`) {
			t.Fatalf("namespace: %d %s", status, body)
		}
	})

	t.Run("DoWithMergePatch", func(t *testing.T) {
		path := "/api/v1/namespaces/kubetest-apply/configmaps/cm"
		status, body := c.DoWith(t, http.MethodPatch, path, "application/merge-patch+json",
			[]byte(`{"data":{"extra":"x"}}`), "")
		if status != http.StatusOK || !strings.Contains(string(body), `"extra":"x"`) {
			t.Fatalf("merge patch: %d %s", status, body)
		}
	})
}

// TestStartFailsWithoutBinaries runs Start in a child test process whose
// working directory is a module without bin/: it must fail (not skip) and
// tell how to build the binaries. It needs no binaries, so it always runs.
func TestStartFailsWithoutBinaries(t *testing.T) {
	if os.Getenv("KUBETEST_CHILD") == "1" {
		Start(t)
		t.Fatal("Start returned without the binaries")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/empty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartFailsWithoutBinaries$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBETEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child test passed without binaries:\n%s", out)
	}
	if !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), "run make kube-tools") {
		t.Fatalf("child output lacks a failure telling to run make kube-tools:\n%s", out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("child skipped:\n%s", out)
	}
}

func TestServiceAccountOf(t *testing.T) {
	for user, want := range map[string][2]string{
		"system:serviceaccount:ns:name": {"ns", "name"},
		"system:serviceaccount:ns":      {},
		"system:serviceaccount::name":   {},
		"alice":                         {},
	} {
		ns, name, ok := serviceAccountOf(user)
		if ok != (want[0] != "") || ns != want[0] || name != want[1] {
			t.Errorf("serviceAccountOf(%q) = %q, %q, %v", user, ns, name, ok)
		}
	}
}

func rbacFixture() []map[string]any {
	return []map[string]any{
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": testNS}},
		{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": testSA, "namespace": testNS}},
		{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": readable, "namespace": testNS},
			"stringData": map[string]any{"k": "v"}},
		{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": unreadable, "namespace": testNS},
			"stringData": map[string]any{"k": "secret"}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
			"metadata": map[string]any{"name": "read-one", "namespace": testNS},
			"rules": []any{map[string]any{
				"apiGroups": []any{""}, "resources": []any{"secrets"},
				"resourceNames": []any{readable}, "verbs": []any{"get"},
			}}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
			"metadata": map[string]any{"name": "read-one", "namespace": testNS},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-one"},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": testSA, "namespace": testNS}}},
	}
}

// allKinds returns one object of every kind Apply must handle; value goes
// into the ConfigMap. The Namespace comes after an object in it, so Apply
// must create the namespace on demand first.
func allKinds(value string) []map[string]any {
	const ns = "kubetest-apply"
	m := func(name string) map[string]any { return map[string]any{"name": name, "namespace": ns} }
	return []map[string]any{
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": m("cm"), "data": map[string]any{"key": value}},
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{
			"name": ns, "labels": map[string]any{"tempo.test/label": "yes"}}},
		{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": m("sa")},
		{"apiVersion": "v1", "kind": "Secret", "metadata": m("s"), "stringData": map[string]any{"key": value}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": m("r"),
			"rules": []any{map[string]any{"apiGroups": []any{"coordination.k8s.io"}, "resources": []any{"leases"}, "verbs": []any{"get"}}}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": m("rb"),
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "sa", "namespace": ns}}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "kubetest-cr"},
			"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"namespaces"}, "verbs": []any{"get"}}}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": map[string]any{"name": "kubetest-crb"},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kubetest-cr"},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "sa", "namespace": ns}}},
		{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": m("np"),
			"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"}}},
		{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": m("lease"),
			"spec": map[string]any{"holderIdentity": "kubetest"}},
		{"apiVersion": "batch/v1", "kind": "Job", "metadata": m("job"),
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
				"restartPolicy":      "Never",
				"serviceAccountName": "sa",
				"containers": []any{map[string]any{
					"name": "main", "image": "example.invalid/runner:" + value,
					"env": []any{map[string]any{"name": "VALUE", "value": value}},
				}},
			}}}},
	}
}

func configMapValue(t *testing.T, c *Cluster, path string) string {
	t.Helper()
	status, body := c.Do(t, http.MethodGet, path, nil, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	mustUnmarshal(t, body, &cm)
	return cm.Data["key"]
}

type objectMeta struct {
	UID             string `json:"uid"`
	ResourceVersion string `json:"resourceVersion"`
}

func metaOf(t *testing.T, c *Cluster, path string) objectMeta {
	t.Helper()
	status, body := c.Do(t, http.MethodGet, path, nil, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var o struct {
		Metadata objectMeta `json:"metadata"`
	}
	mustUnmarshal(t, body, &o)
	return o.Metadata
}

func caClient(t *testing.T, caPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CAPEM holds no certificate")
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}
