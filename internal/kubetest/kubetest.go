// Package kubetest starts a real Kubernetes API server (kube-apiserver backed
// by etcd) on loopback for tests, and talks to it over plain HTTPS.
//
// The binaries are built from Go modules by `make kube-tools` into bin/ at the
// repository root (see internal/tools/kube and internal/tools/etcd). Start
// fails the test, rather than skipping it, when they are missing; tests that
// need them call SkipUnlessEnabled first, so that they run only when
// TEMPO_KUBE_TESTS=1 is set (as `make test` does after building them).
//
// No kubelet or controller-manager runs: nothing schedules Pods, and no
// controller creates default ServiceAccounts or runs Jobs. The API, its
// storage, authentication (a static admin token and ServiceAccount tokens),
// RBAC and impersonation are real.
//
// The package uses the standard library only.
package kubetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvVar is the environment variable that enables the tests that need the
// binaries: SkipUnlessEnabled skips unless it is "1".
const EnvVar = "TEMPO_KUBE_TESTS"

// readyTimeout bounds the wait for etcd and for kube-apiserver's /readyz.
const readyTimeout = 60 * time.Second

// stopTimeout is how long a process gets after SIGTERM before it is killed.
const stopTimeout = 10 * time.Second

// Cluster is a running kube-apiserver with its etcd.
type Cluster struct {
	URL        string // https://127.0.0.1:<port>
	CAFile     string // PEM of the apiserver serving CA (a self-signed CA the helper generates)
	CAPEM      []byte
	AdminToken string // static token of a user in system:masters

	client *http.Client

	mu        sync.Mutex
	discovery map[string][]apiResource // by apiVersion
}

// SkipUnlessEnabled skips the test unless TEMPO_KUBE_TESTS=1 is set. Call it
// before Start in every test that needs the binaries.
func SkipUnlessEnabled(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvVar) != "1" {
		t.Skipf("set %s=1 to run tests against a real kube-apiserver (built by `make kube-tools`; `make test` sets it)", EnvVar)
	}
}

// Start starts etcd and kube-apiserver (binaries from <repo>/bin, the
// repository found by walking up from the working directory to go.mod) on
// free loopback ports, with their data in t.TempDir(), and waits until
// /readyz answers. Both processes are stopped (SIGTERM, then kill) in
// t.Cleanup. A missing binary fails the test.
func Start(t *testing.T) *Cluster {
	t.Helper()
	binDir, err := findBinDir()
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	etcdBin := filepath.Join(binDir, "etcd")
	apiserverBin := filepath.Join(binDir, "kube-apiserver")
	for _, b := range []string{etcdBin, apiserverBin} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("kubetest: %s is missing: run make kube-tools (%v)", b, err)
		}
	}

	dir := t.TempDir()
	pki, err := writePKI(filepath.Join(dir, "pki"))
	if err != nil {
		t.Fatalf("kubetest: generating certificates and keys: %v", err)
	}

	etcdURL := startEtcd(t, etcdBin, dir)
	url := startAPIServer(t, apiserverBin, dir, etcdURL, pki)

	c := &Cluster{
		URL:        url,
		CAFile:     pki.caFile,
		CAPEM:      pki.caPEM,
		AdminToken: pki.adminToken,
		client:     newHTTPClient(pki.caPEM),
		discovery:  map[string][]apiResource{},
	}
	t.Cleanup(c.client.CloseIdleConnections)
	return c
}

// findBinDir walks up from the working directory to the directory holding
// go.mod and returns its bin/. A go.mod of a nested module whose directory has
// no bin/ is passed over when an outer one has it.
func findBinDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	var first string
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if first == "" {
				first = d
			}
			if fi, err := os.Stat(filepath.Join(d, "bin")); err == nil && fi.IsDir() {
				return filepath.Join(d, "bin"), nil
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if first == "" {
		return "", fmt.Errorf("no go.mod found above %s: cannot locate bin/ (run make kube-tools in the repository)", wd)
	}
	return filepath.Join(first, "bin"), nil
}

// process is a child process whose combined output goes to a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error
}

func startProcess(t *testing.T, name, logPath, bin string, args ...string) *process {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	cmd := exec.Command(bin, args...) //nolint:gosec // the binaries are the ones built into bin/
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("kubetest: starting %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to stopTimeout, then kills.
func (p *process) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the last lines of the process's log.
func (p *process) tail() string {
	return tailFile(p.logPath, 40)
}

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer func() { _ = f.Close() }()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// register stops the process at cleanup, and logs its output's tail when the
// test failed.
func (p *process) register(t *testing.T) {
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("kubetest: last lines of %s output (%s):\n%s", p.name, p.logPath, p.tail())
		}
	})
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. Another process
// may take one before it is used; the callers retry on a bind failure.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func addrInUse(logPath string) bool {
	b, _ := os.ReadFile(logPath)
	return bytes.Contains(b, []byte("address already in use"))
}

const startAttempts = 3

func startEtcd(t *testing.T, bin, dir string) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			t.Fatalf("kubetest: finding free ports: %v", err)
		}
		clientURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		dataDir := filepath.Join(dir, "etcd-data")
		_ = os.RemoveAll(dataDir)
		logPath := filepath.Join(dir, "etcd.log")
		p := startProcess(t, "etcd", logPath, bin,
			"--name=kubetest",
			"--data-dir="+dataDir,
			"--listen-client-urls="+clientURL,
			"--advertise-client-urls="+clientURL,
			"--listen-peer-urls="+peerURL,
			"--initial-advertise-peer-urls="+peerURL,
			"--initial-cluster=kubetest="+peerURL,
			"--initial-cluster-state=new",
			// A throwaway store: skip fsync, which is slow on shared disks.
			"--unsafe-no-fsync",
			"--log-level=warn",
		)
		plain := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
		defer plain.CloseIdleConnections()
		err = waitReady(p, func() bool {
			resp, err := plain.Get(clientURL + "/health")
			if err != nil {
				return false
			}
			defer func() { _ = resp.Body.Close() }()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"health":"true"`))
		})
		if err == nil {
			p.register(t)
			return clientURL
		}
		p.stop()
		if attempt < startAttempts && addrInUse(logPath) {
			continue
		}
		t.Fatalf("kubetest: etcd did not become healthy: %v\nlast lines of %s:\n%s", err, logPath, p.tail())
	}
}

func startAPIServer(t *testing.T, bin, dir, etcdURL string, pki *pkiFiles) string {
	t.Helper()
	client := newHTTPClient(pki.caPEM)
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			t.Fatalf("kubetest: finding free ports: %v", err)
		}
		url := fmt.Sprintf("https://127.0.0.1:%d", ports[0])
		logPath := filepath.Join(dir, "kube-apiserver.log")
		certDir := filepath.Join(dir, "apiserver-certs")
		p := startProcess(t, "kube-apiserver", logPath, bin,
			"--etcd-servers="+etcdURL,
			"--bind-address=127.0.0.1",
			"--secure-port="+strconv.Itoa(ports[0]),
			"--advertise-address=127.0.0.1",
			// The default reconciler refuses a loopback advertise address.
			"--endpoint-reconciler-type=none",
			"--authorization-mode=RBAC",
			"--token-auth-file="+pki.tokenFile,
			"--service-account-key-file="+pki.saKeyFile,
			"--service-account-signing-key-file="+pki.saKeyFile,
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-cluster-ip-range=10.0.0.0/24",
			"--tls-cert-file="+pki.servingCertFile,
			"--tls-private-key-file="+pki.servingKeyFile,
			"--cert-dir="+certDir,
		)
		err = waitReady(p, func() bool {
			req, _ := http.NewRequest(http.MethodGet, url+"/readyz", nil)
			req.Header.Set("Authorization", "Bearer "+pki.adminToken)
			resp, err := client.Do(req)
			if err != nil {
				return false
			}
			defer func() { _ = resp.Body.Close() }()
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.StatusCode == http.StatusOK
		})
		if err == nil {
			p.register(t)
			return url
		}
		p.stop()
		if attempt < startAttempts && addrInUse(logPath) {
			continue
		}
		t.Fatalf("kubetest: kube-apiserver did not become ready: %v\nlast lines of %s:\n%s", err, logPath, p.tail())
	}
}

// waitReady polls ready until it reports true, the process exits, or
// readyTimeout passes.
func waitReady(p *process, ready func() bool) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		if p.exited() {
			return fmt.Errorf("%s exited: %w", p.name, p.waitErr)
		}
		if ready() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", readyTimeout)
		}
		select {
		case <-p.done:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Do sends a REST request to the API server as the admin or, when asUser is
// not empty, impersonating that user. For a service account
// ("system:serviceaccount:<ns>:<name>") it also impersonates the groups the
// account would have (system:serviceaccounts, system:serviceaccounts:<ns>,
// system:authenticated). A non-nil body is sent as is when it is a []byte and
// marshalled to JSON otherwise. It returns the status code and the body.
// Transport errors fail the test; HTTP errors do not.
func (c *Cluster) Do(t *testing.T, method, path string, body any, asUser string) (int, []byte) {
	t.Helper()
	return c.DoWith(t, method, path, "", body, asUser)
}

// DoWith is Do with a Content-Type of the caller's choice (for patches:
// application/merge-patch+json, application/json-patch+json,
// application/strategic-merge-patch+json, application/apply-patch+yaml).
// An empty contentType means application/json.
func (c *Cluster) DoWith(t *testing.T, method, path, contentType string, body any, asUser string) (int, []byte) {
	t.Helper()
	status, b, err := c.do(method, path, contentType, body, asUser)
	if err != nil {
		t.Fatalf("kubetest: %s %s: %v", method, path, err)
	}
	return status, b
}

func (c *Cluster) do(method, path, contentType string, body any, asUser string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		case string:
			rd = strings.NewReader(b)
		default:
			j, err := json.Marshal(body)
			if err != nil {
				return 0, nil, fmt.Errorf("marshalling body: %w", err)
			}
			rd = bytes.NewReader(j)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.AdminToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	if asUser != "" {
		req.Header.Set("Impersonate-User", asUser)
		if ns, _, ok := serviceAccountOf(asUser); ok {
			req.Header.Add("Impersonate-Group", "system:serviceaccounts")
			req.Header.Add("Impersonate-Group", "system:serviceaccounts:"+ns)
			req.Header.Add("Impersonate-Group", "system:authenticated")
		}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("reading response: %w", err)
	}
	return resp.StatusCode, b, nil
}

// serviceAccountOf splits "system:serviceaccount:<ns>:<name>".
func serviceAccountOf(user string) (ns, name string, ok bool) {
	rest, found := strings.CutPrefix(user, "system:serviceaccount:")
	if !found {
		return "", "", false
	}
	ns, name, found = strings.Cut(rest, ":")
	if !found || ns == "" || name == "" {
		return "", "", false
	}
	return ns, name, true
}

// ServiceAccountToken mints a token for the service account through the
// TokenRequest API. The account must exist; nothing else is created.
func (c *Cluster) ServiceAccountToken(t *testing.T, namespace, name string) string {
	t.Helper()
	path := fmt.Sprintf("/api/v1/namespaces/%s/serviceaccounts/%s/token", namespace, name)
	status, body := c.Do(t, http.MethodPost, path, map[string]any{
		"apiVersion": "authentication.k8s.io/v1",
		"kind":       "TokenRequest",
		"spec":       map[string]any{"expirationSeconds": 3600},
	}, "")
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("kubetest: TokenRequest for %s/%s: status %d: %s", namespace, name, status, body)
	}
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.Status.Token == "" {
		t.Fatalf("kubetest: TokenRequest for %s/%s: no token in %s (%v)", namespace, name, body, err)
	}
	return tr.Status.Token
}

// Kubeconfig writes a kubeconfig (into t.TempDir()) whose only context talks
// to the cluster with the given bearer token, trusting CAFile, and returns
// its path.
func (c *Cluster) Kubeconfig(t *testing.T, token string) string {
	t.Helper()
	q := func(s string) string {
		b, _ := json.Marshal(s) // a JSON string is a YAML double-quoted scalar
		return string(b)
	}
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: kubetest
  user:
    token: %s
contexts:
- name: kubetest
  context:
    cluster: kubetest
    user: kubetest
    namespace: default
current-context: kubetest
preferences: {}
`, q(c.URL), q(c.CAFile), q(token))
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("kubetest: writing kubeconfig: %v", err)
	}
	return path
}

// apiResource is one entry of an APIResourceList from discovery.
type apiResource struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Namespaced bool   `json:"namespaced"`
}

// resourceFor finds the REST resource of a kind through discovery
// (/api/v1 or /apis/<group>/<version>), caching per apiVersion and asking
// again once when the kind is not in the cached list (a CRD may be new).
func (c *Cluster) resourceFor(apiVersion, kind string) (apiResource, error) {
	for refresh := 0; refresh < 2; refresh++ {
		c.mu.Lock()
		list, ok := c.discovery[apiVersion]
		c.mu.Unlock()
		if !ok || refresh == 1 {
			status, body, err := c.do(http.MethodGet, groupVersionPath(apiVersion), "", nil, "")
			if err != nil {
				return apiResource{}, err
			}
			if status != http.StatusOK {
				return apiResource{}, fmt.Errorf("discovery of %s: status %d: %s", apiVersion, status, body)
			}
			var rl struct {
				Resources []apiResource `json:"resources"`
			}
			if err := json.Unmarshal(body, &rl); err != nil {
				return apiResource{}, fmt.Errorf("discovery of %s: %w", apiVersion, err)
			}
			list = rl.Resources
			c.mu.Lock()
			c.discovery[apiVersion] = list
			c.mu.Unlock()
		}
		for _, r := range list {
			if r.Kind == kind && !strings.Contains(r.Name, "/") {
				return r, nil
			}
		}
	}
	return apiResource{}, fmt.Errorf("the server has no kind %s in %s", kind, apiVersion)
}

func groupVersionPath(apiVersion string) string {
	if !strings.Contains(apiVersion, "/") {
		return "/api/" + apiVersion
	}
	return "/apis/" + apiVersion
}

// ObjectPath returns the REST path of a named object of the given
// apiVersion and kind; namespace is ignored for cluster-scoped kinds.
func (c *Cluster) ObjectPath(t *testing.T, apiVersion, kind, namespace, name string) string {
	t.Helper()
	r, err := c.resourceFor(apiVersion, kind)
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	return objectPath(apiVersion, r, namespace, name)
}

func objectPath(apiVersion string, r apiResource, namespace, name string) string {
	p := groupVersionPath(apiVersion)
	if r.Namespaced {
		p += "/namespaces/" + namespace
	}
	return p + "/" + r.Name + "/" + name
}

// Apply creates or updates each object (as decoded from YAML or JSON, with
// apiVersion, kind and metadata.name) with server-side apply as field
// manager "kubetest", forcing conflicts. Any kind the server serves works
// (the REST path comes from discovery): Namespace, ServiceAccount, Secret,
// ConfigMap, Role, RoleBinding, ClusterRole, ClusterRoleBinding,
// NetworkPolicy, Job, Lease and the rest. An object whose change touches an
// immutable field (a Job's pod template) is deleted and created again. A
// namespaced object without metadata.namespace goes to "default"; its
// namespace is created when it does not exist.
func (c *Cluster) Apply(t *testing.T, objs ...map[string]any) {
	t.Helper()
	for _, obj := range objs {
		if err := c.apply(obj); err != nil {
			t.Fatalf("kubetest: apply: %v", err)
		}
	}
}

func (c *Cluster) apply(obj map[string]any) error {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	if apiVersion == "" || kind == "" || name == "" {
		return fmt.Errorf("object needs apiVersion, kind and metadata.name: %v", obj)
	}
	r, err := c.resourceFor(apiVersion, kind)
	if err != nil {
		return err
	}
	if r.Namespaced {
		if namespace == "" {
			namespace = "default"
		}
		if err := c.ensureNamespace(namespace); err != nil {
			return err
		}
	}
	body, err := json.Marshal(obj) // JSON is YAML
	if err != nil {
		return fmt.Errorf("%s %s: %w", kind, name, err)
	}
	objPath := objectPath(apiVersion, r, namespace, name)
	applyPath := objPath + "?fieldManager=kubetest&force=true"
	status, resp, err := c.do(http.MethodPatch, applyPath, "application/apply-patch+yaml", body, "")
	if err == nil && status == http.StatusUnprocessableEntity && bytes.Contains(resp, []byte("field is immutable")) {
		// A changed immutable field (a Job's template, say): replace the
		// object, as `kubectl replace --force` would.
		if err := c.deleteAndWait(objPath); err != nil {
			return fmt.Errorf("%s %s/%s: replacing it: %w", kind, namespace, name, err)
		}
		status, resp, err = c.do(http.MethodPatch, applyPath, "application/apply-patch+yaml", body, "")
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", kind, name, err)
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return fmt.Errorf("%s %s/%s: status %d: %s", kind, namespace, name, status, resp)
	}
	return nil
}

// deleteAndWait deletes the object at path (dependents in the background)
// and waits until it is gone.
func (c *Cluster) deleteAndWait(path string) error {
	status, resp, err := c.do(http.MethodDelete, path+"?propagationPolicy=Background", "", nil, "")
	if err != nil {
		return err
	}
	if status != http.StatusOK && status != http.StatusAccepted && status != http.StatusNotFound {
		return fmt.Errorf("delete: status %d: %s", status, resp)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, resp, err = c.do(http.MethodGet, path, "", nil, "")
		if err != nil {
			return err
		}
		if status == http.StatusNotFound {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still there 30s after delete: status %d: %s", status, resp)
		}
	}
}

// ensureNamespace creates the namespace unless it exists. It creates rather
// than applies, so that it never takes over fields a Namespace applied
// earlier set.
func (c *Cluster) ensureNamespace(name string) error {
	status, resp, err := c.do(http.MethodPost, "/api/v1/namespaces", "", map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": name},
	}, "")
	if err != nil {
		return err
	}
	switch status {
	case http.StatusCreated, http.StatusOK, http.StatusConflict:
		return nil
	}
	return errors.New("creating namespace " + name + ": status " + strconv.Itoa(status) + ": " + string(resp))
}
