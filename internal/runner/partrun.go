package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
)

// part is one state of the release and the module's working copy for it.
type part struct {
	index int
	// name is the state's secret_suffix: the release's own for part 0.
	name    string
	dir     string
	dataDir string
	vars    []byte
	// label tells the part's lines apart when there are several.
	label string

	key         stateKey
	encryption  string // TF_ENCRYPTION, "" when the state is in clear
	loud, quiet *tfexec.Terraform
	// stdout and stderr show what the part's CLI prints, with its label.
	stdout, stderr io.Writer

	planFile string
	opts     []tfexec.PlanOption
	changes  bool
	plan     *tfjson.Plan
	handoffs []pendingRevocation
	replan   bool
}

// of names the part in a message, when the state has several.
func (p *part) of() string {
	if p.label == "" {
		return ""
	}
	return " of state part " + p.name
}

func (p *part) backend(namespace string) backendConfig {
	return backendConfig{SecretSuffix: p.name, Namespace: namespace}
}

// environ is the environment of the part's CLI commands.
func (p *part) environ() map[string]string {
	env := tfexec.CleanEnv(envMap(os.Environ()))
	delete(env, "TF_ENCRYPTION")
	env["TF_DATA_DIR"] = p.dataDir
	if p.encryption != "" {
		env["TF_ENCRYPTION"] = p.encryption
	}
	return env
}

func envMap(environ []string) map[string]string {
	out := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// setEncryption makes the part's next commands encrypt with key (see
// encryptionConfig).
func (p *part) setEncryption(key stateKey, fallback *stateKey, migrate bool) error {
	enc, err := encryptionConfig(key, fallback, migrate)
	if err != nil {
		return err
	}
	p.encryption = enc
	return p.applyEnv()
}

func (p *part) applyEnv() error {
	env := p.environ()
	for _, tf := range []*tfexec.Terraform{p.loud, p.quiet} {
		if err := tf.SetEnv(maps.Clone(env)); err != nil {
			return err
		}
	}
	return nil
}

// command is the CLI run directly, for what terraform-exec lacks (several
// addresses at once, a state read from stdin), in the part's environment.
func (p *part) command(ctx context.Context, tfPath string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, tfPath, args...) //nolint:gosec // the CLI the runner was given, with arguments of its own
	cmd.Dir = p.dir
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "TF_ENCRYPTION" && k != "TF_DATA_DIR" {
			env = append(env, kv)
		}
	}
	env = append(env, "TF_DATA_DIR="+p.dataDir)
	if p.encryption != "" {
		env = append(env, "TF_ENCRYPTION="+p.encryption)
	}
	cmd.Env = append(env, "TF_IN_AUTOMATION=1")
	// As with terraform-exec: an interrupt lets the CLI release the state
	// lock.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Minute
	return cmd
}

// writeModule copies the module into the part's directory with the part's
// backend and variables, and the runner's own path for the module's
// local-exec.
func (p *part) writeModule(mainTF, backendJSON []byte, self string) error {
	if err := os.RemoveAll(p.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	var backend map[string]map[string]map[string]map[string]any
	if err := json.Unmarshal(backendJSON, &backend); err != nil {
		return fmt.Errorf("backend.tf.json: %w", err)
	}
	k := backend["terraform"]["backend"]["kubernetes"]
	if k == nil {
		return errors.New("backend.tf.json names no kubernetes backend")
	}
	k["secret_suffix"] = p.name
	b, err := json.MarshalIndent(backend, "", "  ")
	if err != nil {
		return err
	}
	runner, err := json.Marshal(map[string]string{"runner_command": self})
	if err != nil {
		return err
	}
	for name, content := range map[string][]byte{
		"main.tf": mainTF, "backend.tf.json": b, "terraform.tfvars.json": p.vars,
		// Loaded after terraform.tfvars.json, which never sets it.
		"runner.auto.tfvars.json": runner,
	} {
		if err := os.WriteFile(filepath.Join(p.dir, name), content, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// setAdopt sets the part's adopt variable, in the variables file its plan
// and its apply both read.
func (p *part) setAdopt(a adoptions) error {
	vars, err := withAdopt(p.vars, a)
	if err != nil {
		return err
	}
	p.vars = vars
	return os.WriteFile(filepath.Join(p.dir, "terraform.tfvars.json"), vars, 0o600)
}

// statePull reads the part's state, decrypted; "" when it has none.
func (p *part) statePull(ctx context.Context) (string, error) {
	return p.quiet.StatePull(ctx)
}

// statePush writes the part's state from s, encrypted as the part's
// commands are.
func (p *part) statePush(ctx context.Context, tfPath, lockTimeout string, s tfState) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	cmd := p.command(ctx, tfPath, "state", "push", "-lock-timeout="+or(lockTimeout, "120s"), "-")
	cmd.Stdin = bytes.NewReader(b)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return fmt.Errorf("writing the state of part %s failed (%w): %s", p.name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// linePrefixer writes each line of the CLI's output with the part's label,
// so that the output of parts working at once stays readable.
type linePrefixer struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (l *linePrefixer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(l.w, "%s%s\n", l.prefix, l.buf[:i]); err != nil {
			return len(b), err
		}
		l.buf = l.buf[i+1:]
	}
}

// Flush writes a last line that lacks its newline.
func (l *linePrefixer) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		_, _ = fmt.Fprintf(l.w, "%s%s\n", l.prefix, l.buf)
		l.buf = nil
	}
}
