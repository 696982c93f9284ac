package atlantis_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/dirhash"
)

// planStepsBeforeAndAfterInit are the plan stage's run steps between the
// commit check (TestPlanRunsTheCheckedCommit) and init, and those after init
// before the plan itself.
func planStepsAroundInit(t *testing.T) (before, after []string) {
	t.Helper()
	repo, global := loadConfigs(t)
	_, w, err := effectiveWorkflow(global, repo, repo.Projects[0], tenancyRepoID)
	if err != nil {
		t.Fatal(err)
	}
	seenInit, first := false, true
	for _, s := range stages(w)["plan"] {
		switch {
		case s.Name == "init", tofuCommand(s) == "init":
			seenInit = true
		case s.Run != nil && tofuCommand(s) == "plan":
			return before, after
		case s.Run != nil && first:
			first = false // the commit check: needs the merge checkout
		case s.Run != nil && strings.HasPrefix(strings.TrimSpace(s.Run.Command), "test -s "+stateEncryptionFile):
			// The encryption check: needs the pod's mount (TestStateIsEncrypted).
		case s.Run != nil && seenInit:
			after = append(after, s.Run.Command)
		case s.Run != nil:
			before = append(before, s.Run.Command)
		}
	}
	t.Fatal("the plan stage runs no plan")
	return nil, nil
}

// runSteps runs commands as Atlantis runs run steps: sh -c in the project's
// directory. It returns the first failure.
func runSteps(t *testing.T, dir string, cmds []string) error {
	t.Helper()
	for _, c := range cmds {
		cmd := exec.Command("sh", "-c", c)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("step %q: %v\n%s", c, err, out)
			return err
		}
	}
	return nil
}

func repoTool(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not built: run make tools (%v)", p, err)
	}
	return p
}

// fakeProvider writes a provider "binary" that leaves marker behind when
// started, and returns its package directory's hash as a lock file holds
// it.
func fakeProvider(t *testing.T, pkgDir, marker string) string {
	t.Helper()
	if err := os.MkdirAll(pkgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho started > '" + marker + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(pkgDir, "terraform-provider-tempo_v0.1.0"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := dirhash.HashDir(pkgDir, "", dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A pull request can commit .terraform/providers/... and the binary's hash
// in .terraform.lock.hcl: OpenTofu then takes the provider as installed and
// starts it at plan time, in the pod where the credentials are mounted. The
// workflow must use the image's mirror whatever the pull request holds.
func TestPlanStartsOnlyTheImagesProvider(t *testing.T) {
	tofuBin := repoTool(t, "tofu")
	before, after := planStepsAroundInit(t)
	const platform = "linux_amd64"
	pkg := filepath.Join("registry.opentofu.org", "tempo-tenancy", "tempo", "0.1.0", platform)

	// The image's mirror, as tofu.rc names it, here in a directory of the
	// test's.
	mirror := t.TempDir()
	mirrorMarker := filepath.Join(t.TempDir(), "mirror-provider-started")
	fakeProvider(t, filepath.Join(mirror, pkg), mirrorMarker)
	rc, err := os.ReadFile(filepath.Join("image", "tofu.rc"))
	if err != nil {
		t.Fatal(err)
	}
	cliConfig := filepath.Join(t.TempDir(), "tofu.rc")
	if err := os.WriteFile(cliConfig, []byte(strings.ReplaceAll(string(rc), "/usr/local/share/tofu/providers", mirror)), 0o644); err != nil {
		t.Fatal(err)
	}

	// The pull request's checkout.
	project := t.TempDir()
	prMarker := filepath.Join(t.TempDir(), "pull-request-provider-started")
	hash := fakeProvider(t, filepath.Join(project, ".terraform", "providers", pkg), prMarker)
	files := map[string]string{
		"main.tf": `terraform {
  required_providers {
    tempo = { source = "tempo-tenancy/tempo", version = "0.1.0" }
  }
}
provider "tempo" {}
`,
		".terraform.lock.hcl": `provider "registry.opentofu.org/tempo-tenancy/tempo" {
  version     = "0.1.0"
  constraints = "0.1.0"
  hashes = [
    "` + hash + `",
  ]
}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(project, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if err := runSteps(t, project, before); err != nil {
		t.Fatalf("the plan stage's steps before init failed: %v", err)
	}
	tofu := func(args ...string) error {
		cmd := exec.Command(tofuBin, args...)
		cmd.Dir = project
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1")
		out, err := cmd.CombinedOutput()
		t.Logf("tofu %s: %v\n%s", args[0], err, out)
		return err
	}
	// Atlantis' init step, then what the stage runs before its plan.
	if tofu("init", "-input=false") == nil && runSteps(t, project, after) == nil {
		_ = tofu("plan", "-input=false", "-no-color")
	}
	if _, err := os.Stat(prMarker); err == nil {
		t.Fatal("the plan started the provider binary the pull request committed")
	}
}

// A module from outside the repository (a registry or a git URL) can change
// after the pull request was reviewed; the plan stage refuses it after init
// has fetched it and before anything of it is planned.
func TestPlanRefusesRemoteModules(t *testing.T) {
	_, after := planStepsAroundInit(t)
	for _, tc := range []struct {
		name, modules string
		refused       bool
	}{
		{"no modules", "", false},
		{"local modules", `{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"a","Source":"./modules/a","Dir":"modules/a"},{"Key":"a.b","Source":"../b","Dir":"modules/b"}]}`, false},
		{"registry module", `{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"x","Source":"registry.opentofu.org/acme/x/tempo","Version":"1.0.0","Dir":".terraform/modules/x"}]}`, true},
		{"git module", `{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"x","Source":"git::https://example.com/x.git?ref=v1","Dir":".terraform/modules/x"}]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.modules != "" {
				if err := os.MkdirAll(filepath.Join(dir, ".terraform", "modules"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, ".terraform", "modules", "modules.json"), []byte(tc.modules), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := runSteps(t, dir, after); (err != nil) != tc.refused {
				t.Errorf("refused = %v, want %v", err != nil, tc.refused)
			}
		})
	}
}

// The state holds the teams' token secrets: every tofu command of the plan
// and apply stages gets the encryption configuration from the mounted
// file, a stage stops before its first tofu command when the file is
// missing, and the configuration itself refuses a state in clear.
func TestStateIsEncrypted(t *testing.T) {
	repo, global := loadConfigs(t)
	_, w, err := effectiveWorkflow(global, repo, repo.Projects[0], tenancyRepoID)
	if err != nil {
		t.Fatal(err)
	}
	check := "test -s " + stateEncryptionFile
	for _, stage := range []string{"plan", "apply"} {
		checked, tofuRuns := false, 0
		for _, s := range stages(w)[stage] {
			switch {
			case s.Name == "init":
				t.Errorf("%s stage: the built-in init loads the state without its encryption", stage)
			case s.Run == nil:
			case strings.HasPrefix(strings.TrimSpace(s.Run.Command), check):
				checked = true
				// On a host without the mount it stops the stage.
				if err := exec.Command("sh", "-c", s.Run.Command).Run(); err == nil && !fileExists(stateEncryptionFile) {
					t.Errorf("%s stage: the check passes without the file", stage)
				}
			case tofuCommand(s) != "":
				tofuRuns++
				if !checked {
					t.Errorf("%s stage: tofu %s runs before the encryption file is checked", stage, tofuCommand(s))
				}
				if !strings.HasPrefix(strings.TrimSpace(s.Run.Command), stateEncryption) {
					t.Errorf("%s stage: tofu %s runs without the state encryption", stage, tofuCommand(s))
				}
			case strings.Contains(s.Run.Command, "ATLANTIS_TERRAFORM"):
				t.Errorf("%s stage: %q runs tofu in a form the checks do not know", stage, s.Run.Command)
			}
		}
		if tofuRuns == 0 {
			t.Errorf("%s stage runs no tofu", stage)
		}
	}
	versions, err := os.ReadFile(filepath.Join("tenancy", "versions.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`namespace         = "tenancy-state"`, "encryption {", "enforced = true"} {
		if !strings.Contains(string(versions), want) {
			t.Errorf("tenancy/versions.tf lacks %q", want)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// A token replaced in a pull request (a new name_prefix, another policy)
// is created before the old one is revoked, so its consumer can switch.
func TestTeamTokensReplaceBeforeRevoke(t *testing.T) {
	main, err := os.ReadFile(filepath.Join("tenancy", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(main), "\nresource ")
	tokens := 0
	for _, b := range blocks[1:] {
		if !strings.HasPrefix(b, `"tempo_token"`) {
			continue
		}
		tokens++
		body := b
		if end := strings.Index(b, "\n}\n"); end >= 0 {
			body = b[:end]
		}
		if !strings.Contains(body, "create_before_destroy = true") {
			t.Errorf("resource %s has no create_before_destroy", strings.SplitN(b, "{", 2)[0])
		}
	}
	if tokens == 0 {
		t.Fatal("tenancy/main.tf declares no token")
	}
}
