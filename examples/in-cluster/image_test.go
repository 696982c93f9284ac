package incluster_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/kubetest"
)

// runnerImageName is the tag the test has `make image` build.
const runnerImageName = "localhost/tempo-tenancy-runner:" + providerVer

// TestRunnerImage runs TestRunnerEndToEnd's scenario in the runner image
// rather than in the stand-in: the image's OpenTofu, its provider mirror,
// its CLI configuration and its entrypoint, from its root filesystem,
// read-only, as uid 65532. No container runtime is needed: the image is
// unpacked by buildah and entered with chroot.
//
// The image is built by `make image` each time: when nothing it is made of
// changed, every layer comes from buildah's cache and the build takes
// seconds, so the image tested is always the one the sources make.
func TestRunnerImage(t *testing.T) {
	kubetest.SkipUnlessEnabled(t)
	root := runnerImage(t)
	if !t.Run("nothing but what the runner needs", func(t *testing.T) { onlyWhatTheRunnerNeeds(t, root) }) {
		return
	}
	if !t.Run("init without network", func(t *testing.T) { initOffline(t, root) }) {
		return
	}
	e := newRunnerEnv(t) // its stand-in stays unused
	e.root = root
	runnerScenario(t, e)
}

// runnerImage builds the image and returns its root filesystem, mounted
// by buildah for the test's duration.
func runnerImage(t *testing.T) *imageRoot {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the runner image test needs root: buildah's image storage, and chroot into the image as uid " + runnerUID)
	}
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Skip("buildah is not installed (apt-get install buildah mmdebstrap): the runner image cannot be built")
	}
	build := exec.Command("make", "--no-print-directory", "image", "IMAGE="+runnerImageName)
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}

	var images []struct {
		OCIv1 struct {
			Config struct {
				User       string
				Env        []string
				Entrypoint []string
			} `json:"config"`
		}
	}
	// One object (buildah 1.28, Debian 12's); a list of one is read too.
	out := buildah(t, "inspect", "--type", "image", runnerImageName)
	if !strings.HasPrefix(out, "[") {
		out = "[" + out + "]"
	}
	if err := json.Unmarshal([]byte(out), &images); err != nil || len(images) != 1 {
		t.Fatalf("buildah inspect %s: %v\n%.500s", runnerImageName, err, out)
	}
	cfg := images[0].OCIv1.Config
	if cfg.User != runnerUID+":"+runnerUID {
		t.Errorf("the image's USER is %q; the chart runs it as %s:%s", cfg.User, runnerUID, runnerUID)
	}
	if len(cfg.Entrypoint) == 0 {
		t.Fatal("the image has no ENTRYPOINT")
	}

	// A working container gives the root filesystem a mount point; a test
	// killed before its clean-up leaves one of this name, removed here.
	const ctr = "tempo-tenancy-runner-test"
	_ = exec.Command("buildah", "rm", ctr).Run()
	buildah(t, "from", "--pull=never", "--name", ctr, runnerImageName)
	t.Cleanup(func() {
		if out, err := exec.Command("buildah", "rm", ctr).CombinedOutput(); err != nil {
			t.Errorf("buildah rm %s: %v\n%s", ctr, err, out)
		}
	})
	return &imageRoot{dir: buildah(t, "mount", ctr), env: cfg.Env, entrypoint: cfg.Entrypoint}
}

// onlyWhatTheRunnerNeeds checks the image's root: the runner, the CLI, the
// provider's mirror and CA certificates are there; a shell, a package
// manager and network tools, which would let a compromised step do more,
// are not.
func onlyWhatTheRunnerNeeds(t *testing.T, r *imageRoot) {
	for _, p := range []string{"usr/local/bin/tempo-tenancy-runner", "usr/local/bin/tofu", "etc/ssl/certs/ca-certificates.crt", "etc/tempo-tenancy/cli.tfrc"} {
		if _, err := os.Stat(filepath.Join(r.dir, p)); err != nil {
			t.Errorf("the image lacks /%s: %v", p, err)
		}
	}
	for _, p := range []string{"bin/sh", "bin/bash", "usr/bin/sh", "usr/bin/curl", "usr/bin/jq", "usr/bin/apt-get", "usr/bin/dpkg", "bin/busybox"} {
		if _, err := os.Lstat(filepath.Join(r.dir, p)); err == nil {
			t.Errorf("the image holds /%s", p)
		}
	}
	var files int
	_ = filepath.Walk(r.dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			files++
		}
		return nil
	})
	// The three binaries, the provider, the bundle and the CLI configuration.
	if files > 10 {
		t.Errorf("the image holds %d files; it should hold little more than the runner's", files)
	}
}

// initOffline runs the image's `tofu init` with its CLI configuration on a
// module that needs the provider, in a network namespace of its own (only
// a loopback device, down): the provider must come from the image's
// mirror, and nothing may need a registry.
func initOffline(t *testing.T, r *imageRoot) {
	base := worldReadableDir(t)
	top, module := filepath.Join(base, "root"), filepath.Join(base, "module")
	writeFile(t, filepath.Join(module, "main.tf"), []byte(`terraform {
  required_providers {
    tempo = { source = "tempo-tenancy/tempo", version = "`+providerVer+`" }
  }
}
`), 0o644)
	chownRunner(t, module)
	script := "set -e\n" + r.setup(t, top) + fmt.Sprintf("mount --bind %q %q\nexec", module, r.at(top, "/tmp"))
	for _, a := range append(r.command(t, top, r.env), "tofu", "-chdir=/tmp", "init", "-input=false", "-no-color") {
		script += fmt.Sprintf(" %q", a)
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--net", "sh", "-c", script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("tofu init in the image without network: %v\n%s", err, out.String())
	}
	for _, want := range []string{"Installed tempo-tenancy/tempo v" + providerVer, "has been successfully initialized"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tofu init output lacks %q:\n%s", want, out.String())
		}
	}
}

// buildah runs buildah and returns its output, trimmed.
func buildah(t *testing.T, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("buildah", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}
