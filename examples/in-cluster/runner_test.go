package incluster_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/kubetest"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/testio"
)

const (
	release        = "tenancy"
	releaseNS      = "tempo"
	emuAdminToken  = "runner-test-admin-token-8c41f0"
	runnerUID      = "65532"
	providerVer    = "0.1.0"
	imageCLIConfig = "/usr/share/tempo-tenancy/plugins"
)

// runnerEnv is what the test stands up once: a Kubernetes API, the admin
// API emulator, and the runner image's content (OpenTofu, the provider in a
// filesystem mirror, the CLI configuration and the entrypoint) in a
// directory the runner's non-root user can read.
type runnerEnv struct {
	kube       *kubetest.Cluster
	kubeconfig string // admin, for helm
	emu        *emulator.Server
	emuURL     string
	admin      *adminapi.Client
	image      string // the stand-in for the image's filesystem
	// root, when set, is the runner image itself: the Job runs in its root
	// filesystem, read-only, with its ENV and ENTRYPOINT, instead of with
	// the stand-in.
	root    *imageRoot
	secrets []string
	// chart, when set, is installed instead of the chart in this
	// repository (another version of it).
	chart string
}

func newRunnerEnv(t *testing.T) *runnerEnv {
	t.Helper()
	kubetest.SkipUnlessEnabled(t)
	if os.Geteuid() != 0 {
		t.Fatal("the runner test needs root: it runs the entrypoint in a private mount namespace with the Job's mounts, as uid " + runnerUID)
	}
	for _, c := range []string{"unshare", "setpriv", "mount"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s is needed by the runner test: %v", c, err)
		}
	}
	root := repoRoot(t)
	e := &runnerEnv{kube: kubetest.Start(t)}
	e.kubeconfig = e.kube.Kubeconfig(t, e.kube.AdminToken)

	emu, err := emulator.New(emulator.Options{AdminToken: emuAdminToken, Clusters: []string{"tempo"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	e.emu, e.emuURL = emu, srv.URL
	if e.admin, err = adminapi.New(adminapi.Config{URL: srv.URL, Token: emuAdminToken}); err != nil {
		t.Fatal(err)
	}

	// The image's content, readable by the runner's user wherever the
	// repository is checked out.
	e.image = worldReadableDir(t)
	mirror := filepath.Join(e.image, "plugins")
	target := filepath.Join(mirror, "registry.opentofu.org/tempo-tenancy/tempo", providerVer, "linux_amd64")
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+providerVer, "-o", filepath.Join(target, "terraform-provider-tempo_v"+providerVer), ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	copyFile(t, tool(t, "tofu"), filepath.Join(e.image, "tofu"), 0o755)
	runnerBin := filepath.Join(e.image, "tempo-tenancy-runner")
	if other := os.Getenv("TEMPO_RUNNER_BINARY"); other != "" {
		copyFile(t, other, runnerBin, 0o755) // another build of it, to compare measurements
	} else {
		build := exec.Command("go", "build", "-o", runnerBin, "./internal/cmd/tempo-tenancy-runner")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building the runner: %v\n%s", err, out)
		}
		_ = os.Chmod(runnerBin, 0o755)
	}
	tfrc, err := os.ReadFile(filepath.Join(root, "examples/in-cluster/runner/cli.tfrc"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(tfrc, []byte(imageCLIConfig)) {
		t.Fatalf("runner/cli.tfrc no longer names %s", imageCLIConfig)
	}
	writeFile(t, filepath.Join(e.image, "cli.tfrc"), bytes.ReplaceAll(tfrc, []byte(imageCLIConfig), []byte(mirror)), 0o644)
	for _, p := range []string{filepath.Join(e.image, "plugins"), filepath.Dir(target), target} {
		_ = os.Chmod(p, 0o755)
	}
	_ = filepath.Walk(mirror, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			_ = os.Chmod(p, info.Mode()|0o055)
		}
		return nil
	})

	// Namespaces and the admin token Secret that GET's tokengen would make.
	for _, ns := range []string{releaseNS, "team-a", "grafana"} {
		e.kube.Apply(t, object{"apiVersion": "v1", "kind": "Namespace", "metadata": object{"name": ns}})
	}
	e.kube.Apply(t, object{"apiVersion": "v1", "kind": "Secret",
		"metadata":   object{"name": "tempo-admin-token", "namespace": releaseNS},
		"stringData": object{"token": emuAdminToken}})
	e.setStateKey(t, stateKey)
	e.secrets = []string{emuAdminToken, stateKey}
	return e
}

// stateKey is the passphrase the state is encrypted with.
const stateKey = "runner-test-state-passphrase-5d1c"

// The state: its namespace and Secret, as the chart names them.
const (
	stateNS     = release + "-tempo-tenancy-state"
	stateSecret = "tfstate-default-" + release + "-tempo-tenancy"
)

func (e *runnerEnv) setStateKey(t *testing.T, key string) {
	t.Helper()
	e.kube.Apply(t, object{"apiVersion": "v1", "kind": "Secret",
		"metadata":   object{"name": "tempo-tenancy-state-key", "namespace": releaseNS},
		"stringData": object{"passphrase": key}})
}

// stateBytes is the state as the backend stores it, unzipped.
func (e *runnerEnv) stateBytes(t *testing.T) []byte {
	t.Helper()
	code, body := e.kube.Do(t, "GET", fmt.Sprintf("/api/v1/namespaces/%s/secrets/%s", stateNS, stateSecret), nil, "")
	if code != http.StatusOK {
		t.Fatalf("reading the state Secret: %d %s", code, body)
	}
	var s struct{ Data map[string][]byte }
	_ = json.Unmarshal(body, &s)
	zr, err := gzip.NewReader(bytes.NewReader(s.Data["tfstate"]))
	if err != nil {
		t.Fatalf("the state Secret's tfstate is not gzip: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// values is the chart's values for this test's cluster and emulator.
func (e *runnerEnv) values(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	head := fmt.Sprintf(`adminApi:
  url: %s
  cluster: tempo
  tokenSecret: {name: tempo-admin-token, key: token}
  allowedEndpoints: [127.0.0.0/8]
state:
  encryption:
    keySecret: {name: tempo-tenancy-state-key, key: passphrase}
networkPolicy:
  kubernetesApi: {cidrs: [127.0.0.1/32]}
runner:
  image: {repository: registry.example.internal/tempo-tenancy-runner, tag: "%s"}
  rotationOverlapSeconds: 2
`, e.emuURL, providerVer)
	writeFile(t, p, []byte(head+body), 0o644)
	return p
}

// helmUpgrade installs or upgrades the release without running hooks: no
// kubelet runs here, so the Job is run by runJob instead. It returns the
// apply Job.
func (e *runnerEnv) helmUpgrade(t *testing.T, values ...string) object {
	t.Helper()
	return e.helmUpgradeHook(t, "apply", values...)
}

// helmUpgradeHook is helmUpgrade returning the hook Job of the given mode.
// Later values files override earlier ones, as with helm's own -f.
func (e *runnerEnv) helmUpgradeHook(t *testing.T, mode string, values ...string) object {
	t.Helper()
	args := []string{"upgrade", "--install", "--no-hooks", release, or(e.chart, chartDir), "--namespace", releaseNS, "--kubeconfig", e.kubeconfig}
	for _, v := range values {
		args = append(args, "-f", v)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm upgrade: %v\n%s", err, out)
	}
	out, err = helm(t, "get", "hooks", release, "--namespace", releaseNS, "--kubeconfig", e.kubeconfig)
	if err != nil {
		t.Fatalf("helm get hooks: %v\n%s", err, out)
	}
	for _, j := range byKind(splitManifests(t, out), "Job") {
		if strings.HasSuffix(get(j, "metadata", "name").(string), "-"+mode) {
			return j
		}
	}
	t.Fatalf("no %s hook Job in the release", mode)
	return nil
}

// runJob runs the Job's container as its pod would: the entrypoint of the
// image with the container's args and environment, as uid 65532, with the
// service account's real token and every volume mounted at its mountPath,
// in a private mount namespace. It returns the output and the exit error.
func (e *runnerEnv) runJob(t *testing.T, job object) (string, error) {
	t.Helper()
	cmd, out := e.startJob(t, job)
	err := cmd.Wait()
	return out.String(), err
}

// jobTimeout bounds one run of the Job; the scale measurement raises it.
var jobTimeout = 5 * time.Minute

// startJob starts what runJob runs and returns at once; the process is the
// entrypoint itself (unshare, sh and setpriv exec into it), so a signal to
// it is a signal to the container's main process.
func (e *runnerEnv) startJob(t *testing.T, job object) (*exec.Cmd, *testio.SyncBuffer) {
	t.Helper()
	pod := get(job, "spec", "template", "spec")
	ctr := get(pod, "containers", 0)
	ns := get(job, "metadata", "namespace").(string)
	sa := get(pod, "serviceAccountName").(string)
	if get(pod, "automountServiceAccountToken") != true {
		t.Fatal("the Job does not mount its service account token")
	}

	base := worldReadableDir(t)
	type mount struct{ src, dst string }
	var mounts []mount
	volumes := map[string]any{}
	for _, v := range get(pod, "volumes").([]any) {
		volumes[get(v, "name").(string)] = v
	}
	for i, m := range get(ctr, "volumeMounts").([]any) {
		name, dst := get(m, "name").(string), get(m, "mountPath").(string)
		if !strings.HasPrefix(dst, "/var/run/") && dst != "/tmp" {
			t.Fatalf("mount %s at %s: the test can only reproduce mounts under /var/run and /tmp", name, dst)
		}
		if dst == "/tmp" && e.root == nil {
			continue // the host's /tmp stands in; it may hold this checkout
		}
		src := filepath.Join(base, fmt.Sprintf("vol%d", i))
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		v := volumes[name]
		switch {
		case get(v, "configMap") != nil:
			code, body := e.kube.Do(t, "GET", fmt.Sprintf("/api/v1/namespaces/%s/configmaps/%s", ns, get(v, "configMap", "name")), nil, "")
			if code != http.StatusOK {
				t.Fatalf("reading the ConfigMap of volume %s: %d %s", name, code, body)
			}
			var cm struct{ Data map[string]string }
			_ = json.Unmarshal(body, &cm)
			for k, val := range cm.Data {
				writeFile(t, filepath.Join(src, k), []byte(val), 0o644)
			}
		case get(v, "secret") != nil:
			code, body := e.kube.Do(t, "GET", fmt.Sprintf("/api/v1/namespaces/%s/secrets/%s", ns, get(v, "secret", "secretName")), nil, "")
			if code != http.StatusOK {
				t.Fatalf("reading the Secret of volume %s: %d %s", name, code, body)
			}
			var s struct{ Data map[string][]byte }
			_ = json.Unmarshal(body, &s)
			for _, it := range get(v, "secret", "items").([]any) {
				writeFile(t, filepath.Join(src, get(it, "path").(string)), s.Data[get(it, "key").(string)], 0o444)
			}
		case get(v, "emptyDir") != nil:
			chownRunner(t, src)
		default:
			t.Fatalf("volume %s: unsupported kind %v", name, v)
		}
		mounts = append(mounts, mount{src, dst})
	}
	// What the kubelet mounts for automountServiceAccountToken.
	saDir := filepath.Join(base, "serviceaccount")
	_ = os.MkdirAll(saDir, 0o755)
	writeFile(t, filepath.Join(saDir, "token"), []byte(e.kube.ServiceAccountToken(t, ns, sa)), 0o444)
	writeFile(t, filepath.Join(saDir, "ca.crt"), e.kube.CAPEM, 0o444)
	writeFile(t, filepath.Join(saDir, "namespace"), []byte(ns), 0o444)
	mounts = append(mounts, mount{saDir, "/var/run/secrets/kubernetes.io/serviceaccount"})

	u, _ := url.Parse(e.kube.URL)
	// The image's ENV and ENTRYPOINT.
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TF_CLI_CONFIG_FILE=" + filepath.Join(e.image, "cli.tfrc"),
		"TENANCY_TF=" + filepath.Join(e.image, "tofu"),
	}
	entrypoint := []string{filepath.Join(e.image, "tempo-tenancy-runner")}
	if e.root != nil {
		env, entrypoint = slices.Clone(e.root.env), e.root.entrypoint
	}
	env = append(env, "KUBERNETES_SERVICE_HOST="+u.Hostname(), "KUBERNETES_SERVICE_PORT="+u.Port())
	for _, v := range get(ctr, "env").([]any) {
		env = append(env, fmt.Sprintf("%s=%s", get(v, "name"), get(v, "value")))
	}
	// Mounts go where the container sees them: in the host's root for the
	// stand-in, in the image's for the image (e.root.at resolves them).
	var script strings.Builder
	top := filepath.Join(base, "root")
	script.WriteString("set -e\n" + e.root.setup(t, top))
	fmt.Fprintf(&script, "mount -t tmpfs -o mode=755 tmpfs %q\n", e.root.at(top, "/run"))
	for _, m := range mounts {
		dst := e.root.at(top, m.dst)
		fmt.Fprintf(&script, "mkdir -p %q && mount --bind %q %q\n", dst, m.src, dst)
	}
	args := []string{"setpriv", "--reuid=" + runnerUID, "--regid=" + runnerUID, "--clear-groups", "--", "env", "-i"}
	args = append(args, env...)
	if e.root != nil {
		args = e.root.command(t, top, env)
	}
	args = append(args, entrypoint...)
	for _, a := range get(ctr, "args").([]any) {
		args = append(args, a.(string))
	}
	script.WriteString("exec")
	for _, a := range args {
		fmt.Fprintf(&script, " %q", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "sh", "-c", script.String())
	out := &testio.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// secret reads a Secret's data as the admin; nil when it does not exist.
func (e *runnerEnv) secret(t *testing.T, ns, name string) (map[string]string, string) {
	t.Helper()
	code, body := e.kube.Do(t, "GET", fmt.Sprintf("/api/v1/namespaces/%s/secrets/%s", ns, name), nil, "")
	if code == http.StatusNotFound {
		return nil, ""
	}
	if code != http.StatusOK {
		t.Fatalf("reading secret %s/%s: %d %s", ns, name, code, body)
	}
	var s struct {
		Metadata struct{ ResourceVersion string }
		Data     map[string]string
	}
	_ = json.Unmarshal(body, &s)
	out := map[string]string{}
	for k, v := range s.Data {
		b, _ := base64.StdEncoding.DecodeString(v)
		out[k] = string(b)
	}
	return out, s.Metadata.ResourceVersion
}

// wantRefusal fails unless the run ended with the runner's exit status for
// a refusal, which the Job's podFailurePolicy does not retry.
func wantRefusal(t *testing.T, err error) {
	t.Helper()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("a refused run ended with %v, want exit status 3", err)
	}
}

// secretObject reads a Secret whole, as the admin; nil when it does not
// exist.
func (e *runnerEnv) secretObject(t *testing.T, ns, name string) (object, int) {
	t.Helper()
	code, body := e.kube.Do(t, "GET", fmt.Sprintf("/api/v1/namespaces/%s/secrets/%s", ns, name), nil, "")
	if code != http.StatusOK {
		return nil, code
	}
	var o object
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatal(err)
	}
	return o, code
}

// consume is one step of a token's consumer: read the token from its
// Secret as the kubelet would, and write traces with it. It returns what
// went wrong, or "". It may run beside the test, so it never fails it.
func (e *runnerEnv) consume(ns, name, key, tenant string) string {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.kube.CAPEM)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/namespaces/%s/secrets/%s", e.kube.URL, ns, name), nil)
	req.Header.Set("Authorization", "Bearer "+e.kube.AdminToken)
	resp, err := hc.Do(req)
	if err != nil {
		return "reading the Secret: " + err.Error()
	}
	var s struct{ Data map[string][]byte }
	err = json.NewDecoder(resp.Body).Decode(&s)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("reading the Secret: HTTP %d %v", resp.StatusCode, err)
	}
	req, _ = http.NewRequest(http.MethodPost, e.emuURL+"/otlp/v1/traces", strings.NewReader("{}"))
	req.SetBasicAuth(tenant, string(s.Data[key]))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return "writing traces: " + err.Error()
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("writing traces with the Secret's token: HTTP %d", resp.StatusCode)
	}
	return ""
}

// consumer keeps consuming a token Secret beside the test, as a reading
// workload would, until the returned function stops it; that function
// returns what went wrong, in order.
func (e *runnerEnv) consumer(ns, name, key, tenant string) (stop func() []string) {
	done := make(chan struct{})
	var mu sync.Mutex
	var refusals []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if r := e.consume(ns, name, key, tenant); r != "" {
				mu.Lock()
				refusals = append(refusals, r)
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() []string {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return refusals
	}
}

// writeTraces tries a token on the emulator's data path.
func (e *runnerEnv) writeTraces(t *testing.T, tenant, secret string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.emuURL+"/otlp/v1/traces", strings.NewReader("{}"))
	req.SetBasicAuth(tenant, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// noSecrets fails when the runner's output holds any secret seen so far.
func (e *runnerEnv) noSecrets(t *testing.T, out string) {
	t.Helper()
	for _, s := range e.secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the runner printed a secret")
		}
	}
}

const valuesV1 = `
tenants:
  - {name: team-a, displayName: Team A}
  - {name: team-b, displayName: Team B}
accessPolicies:
  - name: team-a-write
    scopes: [traces:write]
    realms: [{tenant: team-a}]
  - name: grafana-read
    scopes: [traces:read]
    realms: [{tenant: team-a}, {tenant: team-b}]
tokens:
  - namePrefix: team-a-otel
    accessPolicy: team-a-write
    rotation: "1"
    secret: {namespace: team-a, name: tempo-token, key: token}
  - namePrefix: grafana
    accessPolicy: grafana-read
    secret: {namespace: grafana, name: tempo-datasource, key: token}
`

// The upgrade edits a policy, rotates a token, removes a tenant and a token.
const valuesV2 = `
tenants:
  - {name: team-a, displayName: Team A}
accessPolicies:
  - name: team-a-write
    scopes: [traces:write, traces:read]
    realms: [{tenant: team-a}]
  - name: grafana-read
    scopes: [traces:read]
    realms: [{tenant: team-a}, {tenant: team-b}]
tokens:
  - namePrefix: team-a-otel
    accessPolicy: team-a-write
    rotation: "2"
    secret: {namespace: team-a, name: tempo-token, key: token}
`

// allowV2 names what valuesV2 removes on purpose.
const allowV2 = `
runner:
  allowRemovals:
    tenants: [team-b]
    tokens: [grafana]
    secrets: [{namespace: grafana, name: tempo-datasource}]
`

func TestRunnerEndToEnd(t *testing.T) {
	runnerScenario(t, newRunnerEnv(t))
}

// runnerScenario installs, reruns, upgrades, interrupts and uninstalls a
// release, running its hook Jobs in e.
func runnerScenario(t *testing.T, e *runnerEnv) {
	ctx := context.Background()

	// First install: everything is created and the token Secrets written.
	job := e.helmUpgrade(t, e.values(t, valuesV1))
	out, err := e.runJob(t, job)
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	for _, want := range []string{"tofu plan", "will be created", "Apply complete!", "secret team-a/tempo-token", "secret grafana/tempo-datasource"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run output lacks %q:\n%s", want, out)
		}
	}
	teamA, rv1 := e.secret(t, "team-a", "tempo-token")
	grafana, _ := e.secret(t, "grafana", "tempo-datasource")
	if teamA["token"] == "" || grafana["token"] == "" {
		t.Fatalf("token Secrets not written: team-a %v, grafana %v", teamA != nil, grafana != nil)
	}
	e.secrets = append(e.secrets, teamA["token"], grafana["token"])
	e.noSecrets(t, out)
	if code := e.writeTraces(t, "team-a", teamA["token"]); code != http.StatusOK {
		t.Errorf("team-a's collector token from its Secret: HTTP %d, want 200", code)
	}
	if code := e.writeTraces(t, "team-b", teamA["token"]); code != http.StatusForbidden {
		t.Errorf("team-a's token writing to team-b: HTTP %d, want 403", code)
	}
	if tb, err := e.admin.GetTenant(ctx, "team-b"); err != nil || tb.Status != adminapi.StatusActive {
		t.Fatalf("team-b = %+v, %v", tb, err)
	}

	// The runner's identity reaches only its own Secrets.
	sa := "system:serviceaccount:" + releaseNS + ":" + release + "-tempo-tenancy"
	for _, p := range []string{
		"/api/v1/namespaces/" + releaseNS + "/secrets/tempo-admin-token",
		"/api/v1/namespaces/team-a/secrets",
		"/api/v1/namespaces/team-a/secrets/other",
		"/api/v1/namespaces/default/secrets/tempo-token",
	} {
		if code, _ := e.kube.Do(t, "GET", p, nil, sa); code != http.StatusForbidden {
			t.Errorf("as the runner, GET %s: HTTP %d, want 403", p, code)
		}
	}
	if code, _ := e.kube.Do(t, "GET", "/api/v1/namespaces/team-a/secrets/tempo-token", nil, sa); code != http.StatusOK {
		t.Errorf("as the runner, GET its own Secret: HTTP %d, want 200", code)
	}
	// The backend lists Secrets in the state's own namespace only: never
	// in the release namespace, where the admin token is.
	if code, _ := e.kube.Do(t, "GET", "/api/v1/namespaces/"+releaseNS+"/secrets", nil, sa); code != http.StatusForbidden {
		t.Errorf("as the runner, list Secrets of the release namespace: HTTP %d, want 403", code)
	}
	if code, _ := e.kube.Do(t, "GET", "/api/v1/namespaces/"+stateNS+"/secrets", nil, sa); code != http.StatusOK {
		t.Errorf("as the runner, list Secrets of the state namespace: HTTP %d, want 200", code)
	}

	// The state Secret alone reveals nothing: it is encrypted.
	state := e.stateBytes(t)
	if !bytes.Contains(state, []byte(`"encrypted_data"`)) {
		t.Errorf("the state is not encrypted:\n%.300s", state)
	}
	for _, s := range []string{teamA["token"], grafana["token"], "team-a-write"} {
		if bytes.Contains(state, []byte(s)) {
			t.Errorf("the state Secret shows %q in clear", s[:min(len(s), 8)])
		}
	}

	// Without the right key a run fails, saying why, and changes nothing.
	e.setStateKey(t, "another-passphrase-entirely-0000")
	out, err = e.runJob(t, job)
	if err == nil || !strings.Contains(out, "decrypt") {
		t.Errorf("a run with the wrong state key: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	e.setStateKey(t, stateKey)

	// A second run changes nothing.
	out, err = e.runJob(t, job)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "No changes") || strings.Contains(out, "Apply complete") {
		t.Errorf("second run was not a no-op:\n%s", out)
	}
	if _, rv := e.secret(t, "team-a", "tempo-token"); rv != rv1 {
		t.Errorf("second run rewrote team-a's Secret (resourceVersion %s -> %s)", rv1, rv)
	}
	e.noSecrets(t, out)

	// Secrets carry their release by name and namespace. A release of the
	// same name in another namespace owns its own, not these: a token of
	// this release aimed at one of those is refused, as someone else's.
	if s, _ := e.secretObject(t, "team-a", "tempo-token"); get(s, "metadata", "labels", "tempo-tenancy/release-namespace") != releaseNS ||
		get(s, "metadata", "annotations", "tempo-tenancy/created-by") != releaseNS+"/"+release {
		t.Errorf("team-a/tempo-token is marked %v, %v; want the release's namespace and name",
			get(s, "metadata", "labels"), get(s, "metadata", "annotations"))
	}
	e.kube.Apply(t, object{"apiVersion": "v1", "kind": "Secret",
		"metadata": object{"name": "twin", "namespace": "team-a",
			"labels":      object{"tempo-tenancy/release": release, "tempo-tenancy/release-namespace": "elsewhere"},
			"annotations": object{"tempo-tenancy/created-by": "elsewhere/" + release}},
		"stringData": object{"token": "the-twin-release-token"}})
	withTwin := valuesV1 + `
  - namePrefix: twin
    accessPolicy: team-a-write
    secret: {namespace: team-a, name: twin, key: token}
`
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, withTwin)))
	if err == nil || !strings.Contains(out, "team-a/twin") || !strings.Contains(out, "no token was created") {
		t.Fatalf("a run writing into the Secret of a release of the same name elsewhere: %v\n%s", err, out)
	}
	if s, _ := e.secret(t, "team-a", "twin"); s["token"] != "the-twin-release-token" {
		t.Fatal("the Secret of a release of the same name in another namespace was changed")
	}
	job = e.helmUpgrade(t, e.values(t, valuesV1))
	// A Secret this release wrote before its marks held the namespace is
	// still its own (its record says so), and the next write completes them.
	if code, body := e.kube.DoWith(t, "PATCH", "/api/v1/namespaces/team-a/secrets/tempo-token", "application/merge-patch+json",
		object{"metadata": object{"labels": object{"tempo-tenancy/release-namespace": nil}, "annotations": object{"tempo-tenancy/created-by": release}}}, ""); code != http.StatusOK {
		t.Fatalf("marking a Secret the old way: %d %s", code, body)
	}
	out, err = e.runJob(t, job)
	if err != nil {
		t.Fatalf("a run over a Secret marked the old way: %v\n%s", err, out)
	}
	if s, _ := e.secretObject(t, "team-a", "tempo-token"); get(s, "metadata", "labels", "tempo-tenancy/release-namespace") != releaseNS ||
		get(s, "metadata", "annotations", "tempo-tenancy/created-by") != releaseNS+"/"+release {
		t.Errorf("team-a/tempo-token after the run is marked %v, %v; want the marks completed",
			get(s, "metadata", "labels"), get(s, "metadata", "annotations"))
	}
	_, rv1 = e.secret(t, "team-a", "tempo-token")

	// A token Secret changed by hand is put right by the next run, and only
	// that one is written.
	if code, body := e.kube.DoWith(t, "PATCH", "/api/v1/namespaces/team-a/secrets/tempo-token", "application/merge-patch+json",
		object{"data": object{"token": "Y2hhbmdlZA=="}}, ""); code != http.StatusOK {
		t.Fatalf("changing a token Secret by hand: %d %s", code, body)
	}
	out, err = e.runJob(t, job)
	if err != nil || !strings.Contains(out, "token Secrets: 2, 1 written") {
		t.Fatalf("the run after a hand edit: %v\n%s", err, out)
	}
	if got, _ := e.secret(t, "team-a", "tempo-token"); got["token"] != teamA["token"] {
		t.Errorf("team-a's Secret was not put right after a hand edit")
	}

	// An upgrade that leaves out a tenant and a token (a typo, or --set
	// without --reuse-values) stops before applying anything, listing them.
	job = e.helmUpgrade(t, e.values(t, valuesV2))
	out, err = e.runJob(t, job)
	if err == nil {
		t.Fatalf("an upgrade removing a tenant and a token ran without being allowed:\n%s", out)
	}
	wantRefusal(t, err)
	for _, want := range []string{`tempo_tenant.this["team-b"] (deactivate)`, `tempo_token.this["grafana"] (revoke)`, "nothing was applied", "runner.allowRemovals"} {
		if !strings.Contains(out, want) {
			t.Errorf("refused upgrade output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `tempo_token.this["team-a-otel"] (`) {
		t.Errorf("the rotation of team-a's token was listed as a removal:\n%s", out)
	}
	e.noSecrets(t, out)
	if tb, err := e.admin.GetTenant(ctx, "team-b"); err != nil || tb.Status != adminapi.StatusActive {
		t.Errorf("team-b after the refused upgrade = %+v, %v; want it still active", tb, err)
	}
	if code := e.writeTraces(t, "team-a", teamA["token"]); code != http.StatusOK {
		t.Errorf("team-a's token after the refused upgrade: HTTP %d, want 200", code)
	}
	if s, _ := e.secret(t, "grafana", "tempo-datasource"); s == nil {
		t.Errorf("the refused upgrade removed grafana/tempo-datasource")
	}

	// Someone else keeps a key of their own in the Grafana token's Secret.
	if code, body := e.kube.DoWith(t, "PATCH", "/api/v1/namespaces/grafana/secrets/tempo-datasource", "application/merge-patch+json",
		object{"data": object{"ca.crt": "b3RoZXI="}}, ""); code != http.StatusOK {
		t.Fatalf("adding a key of someone else's: %d %s", code, body)
	}

	// Upgrade: policy edited, team-a's token rotated, team-b and the Grafana
	// token removed, as the values now say. Meanwhile a consumer keeps
	// writing with whatever its Secret holds: it never meets a revoked token.
	job = e.helmUpgrade(t, e.values(t, valuesV2), setFile(t, allowV2))
	stop := e.consumer("team-a", "tempo-token", "token", "team-a")
	out, err = e.runJob(t, job)
	refusals := stop()
	if err != nil {
		t.Fatalf("upgrade run: %v\n%s", err, out)
	}
	if len(refusals) > 0 {
		t.Errorf("during the rotation a consumer using its Secret's current token was refused: %s\n%s", refusals[0], out)
	}
	e.noSecrets(t, out)
	p, err := e.admin.GetAccessPolicy(ctx, "team-a-write")
	if err != nil || !slices.Contains(p.Scopes, "traces:read") {
		t.Errorf("team-a-write after the upgrade = %+v, %v; want traces:read added", p, err)
	}
	rotated, rv2 := e.secret(t, "team-a", "tempo-token")
	e.secrets = append(e.secrets, rotated["token"])
	if rotated["token"] == "" || rotated["token"] == teamA["token"] || rv2 == rv1 {
		t.Errorf("team-a's Secret was not rewritten with the rotated token")
	}
	if code := e.writeTraces(t, "team-a", rotated["token"]); code != http.StatusOK {
		t.Errorf("rotated token: HTTP %d, want 200", code)
	}
	if code := e.writeTraces(t, "team-a", teamA["token"]); code != http.StatusUnauthorized {
		t.Errorf("token before rotation: HTTP %d, want 401 (revoked)", code)
	}
	if tb, err := e.admin.GetTenant(ctx, "team-b"); err != nil || tb.Status != adminapi.StatusInactive {
		t.Errorf("team-b after removal = %+v, %v; want inactive", tb, err)
	}
	// Only the removed token's key goes; the other writer's key stays.
	if s, _ := e.secret(t, "grafana", "tempo-datasource"); s == nil || s["token"] != "" || s["ca.crt"] != "other" {
		t.Errorf("grafana/tempo-datasource after its token's removal = %v; want only the other writer's key", s)
	}
	if code := e.writeTraces(t, "team-a", grafana["token"]); code != http.StatusUnauthorized {
		t.Errorf("removed Grafana token: HTTP %d, want 401 (revoked)", code)
	}

	// The next upgrade drops the grant on the Secret that is gone.
	e.helmUpgrade(t, e.values(t, valuesV2))
	if code, _ := e.kube.Do(t, "GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/grafana/roles/"+release+"-tempo-tenancy-token-secrets", nil, ""); code != http.StatusNotFound {
		t.Errorf("the Role in grafana outlived the Secret it was for: HTTP %d", code)
	}

	// SIGTERM in the middle of an apply (the Job's deadline, helm replacing
	// the hook): OpenTofu is interrupted, not killed, so the state lock is
	// released and the next run goes through.
	e.emu.Reset()
	e.emu.InjectFault(emulator.Fault{Method: http.MethodPost, Path: adminapi.BasePath + "/tenants", Delay: time.Minute})
	job = e.helmUpgrade(t, e.values(t, valuesV3), setFile(t, "runner:\n  lockTimeout: 5s\n"))
	cmd, buf := e.startJob(t, job)
	deadline := time.Now().Add(3 * time.Minute)
	for e.emu.Counts()["POST "+adminapi.BasePath+"/tenants"] == 0 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the apply never reached the admin API:\n%s", buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	out = buf.String()
	if err == nil || !strings.Contains(out, "stopped by SIGTERM") {
		t.Fatalf("after SIGTERM: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	e.emu.Reset()
	out, err = e.runJob(t, job)
	if err != nil {
		t.Fatalf("the run after an interrupted one: %v\n%s", err, out)
	}
	if tc, err := e.admin.GetTenant(ctx, "team-c"); err != nil || tc.Status != adminapi.StatusActive {
		t.Errorf("team-c after the rerun = %+v, %v", tc, err)
	}

	// The release grants only the Secrets its values name: a removed
	// token's Secret that the values do not list under allowRemovals.secrets
	// cannot be deleted. The run still succeeds, says so, and keeps the
	// Secret in its record; a later run whose values list it removes it.
	withExtra := valuesV3 + `
  - namePrefix: extra
    accessPolicy: grafana-read
    secret: {namespace: grafana, name: tempo-extra, key: token}
`
	allowExtra := setFile(t, "runner:\n  allowRemovals:\n    tokens: [extra]\n")
	if out, err := e.runJob(t, e.helmUpgrade(t, e.values(t, withExtra))); err != nil {
		t.Fatalf("adding a token: %v\n%s", err, out)
	}
	job = e.helmUpgrade(t, e.values(t, valuesV3), allowExtra)
	out, err = e.runJob(t, job)
	if err != nil || !strings.Contains(out, "secret grafana/tempo-extra: not readable by the runner") ||
		!strings.Contains(out, "runner.allowRemovals.secrets ({namespace: grafana, name: tempo-extra})") {
		t.Fatalf("a run that may not delete a removed token's Secret: %v\n%s", err, out)
	}
	if s, _ := e.secret(t, "grafana", "tempo-extra"); s == nil {
		t.Fatal("grafana/tempo-extra is gone although the runner could not delete it")
	}
	e.noSecrets(t, out)
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, valuesV3),
		setFile(t, "runner:\n  allowRemovals:\n    secrets: [{namespace: grafana, name: tempo-extra}]\n")))
	if err != nil {
		t.Fatalf("the run whose values list the removed token's Secret: %v\n%s", err, out)
	}
	if s, _ := e.secret(t, "grafana", "tempo-extra"); s != nil {
		t.Errorf("grafana/tempo-extra outlived the run that could delete it:\n%s", out)
	}

	// A Secret someone else made is not taken over unless the values say
	// so, not even the key the token is aimed at: the run stops before it
	// creates any token. Once adopted, removing the token removes only its
	// key.
	e.kube.Apply(t, object{"apiVersion": "v1", "kind": "Secret",
		"metadata":   object{"name": "foreign", "namespace": "team-a"},
		"stringData": object{"other": "theirs", "token": "their-token"}})
	withForeign := valuesV3 + `
  - namePrefix: adopt
    accessPolicy: team-a-write
    secret: {namespace: team-a, name: foreign, key: token}
`
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, withForeign)))
	if err == nil || !strings.Contains(out, "team-a/foreign (no tempo-tenancy label)") || !strings.Contains(out, "adoptExistingSecrets") {
		t.Fatalf("a run writing into someone else's Secret: %v\n%s", err, out)
	}
	wantRefusal(t, err)
	if s, _ := e.secret(t, "team-a", "foreign"); len(s) != 2 || s["other"] != "theirs" || s["token"] != "their-token" {
		t.Fatalf("someone else's Secret was changed: %d keys, other kept %v, token kept %v", len(s), s["other"] == "theirs", s["token"] == "their-token")
	}
	if !strings.Contains(out, "no token was created") || strings.Contains(out, "tofu plan") {
		t.Errorf("the refusal did not come before the plan:\n%s", out)
	}
	tokens, err := e.admin.ListTokens(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tokens {
		if strings.HasPrefix(tk.Name, "adopt") {
			t.Errorf("the refused run created token %s (%s)", tk.Name, tk.Status)
		}
	}
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, withForeign), setFile(t, "runner:\n  adoptExistingSecrets: true\n")))
	if err != nil {
		t.Fatalf("adopting a Secret: %v\n%s", err, out)
	}
	if s, _ := e.secret(t, "team-a", "foreign"); s["other"] != "theirs" || s["token"] == "" || s["token"] == "their-token" {
		t.Fatalf("the adopted Secret = %v keys; want theirs and the token", len(s))
	}
	out, err = e.runJob(t, e.helmUpgrade(t, e.values(t, valuesV3), setFile(t, "runner:\n  allowRemovals: {tokens: [adopt], secrets: [{namespace: team-a, name: foreign}]}\n")))
	if err != nil {
		t.Fatalf("removing the adopted token: %v\n%s", err, out)
	}
	if s, _ := e.secret(t, "team-a", "foreign"); s == nil || s["other"] != "theirs" || s["token"] != "" {
		t.Errorf("after its token's removal the adopted Secret = %v; want it kept with only its own key", s)
	}

	// The opt-in uninstall clean-up revokes, deactivates and removes
	// everything of the release.
	job = e.helmUpgradeHook(t, "destroy", e.values(t, valuesV3), setFile(t, "runner:\n  cleanupOnUninstall: true\n"))
	out, err = e.runJob(t, job)
	if err != nil {
		t.Fatalf("clean-up run: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
	for _, name := range []string{"team-a", "team-c"} {
		if tn, err := e.admin.GetTenant(ctx, name); err != nil || tn.Status != adminapi.StatusInactive {
			t.Errorf("tenant %s after clean-up = %+v, %v; want inactive", name, tn, err)
		}
	}
	if code := e.writeTraces(t, "team-a", rotated["token"]); code != http.StatusUnauthorized {
		t.Errorf("team-a's token after clean-up: HTTP %d, want 401", code)
	}
	if s, _ := e.secret(t, "team-a", "tempo-token"); s != nil {
		t.Errorf("team-a/tempo-token outlived the clean-up")
	}
}

// valuesV3 adds a tenant to valuesV2.
var valuesV3 = strings.Replace(valuesV2, "  - {name: team-a, displayName: Team A}\n", "  - {name: team-a, displayName: Team A}\n  - {name: team-c}\n", 1)

func worldReadableDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "tempo-runner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func chownRunner(t *testing.T, dir string) {
	t.Helper()
	if err := os.Chown(dir, 65532, 65532); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(path, mode)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, b, mode)
}
