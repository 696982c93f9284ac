package runner

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Runner is one run of the Job.
type Runner struct {
	Cfg  Config
	Kube kubernetes.Interface
	// Out takes the progress lines and the CLI's own output; Err the
	// runner's diagnostics and the CLI's.
	Out, Err io.Writer
	// Self is the runner's executable, which the module's local-exec runs
	// again as write-secret.
	Self string
	// Now is the clock of the progress lines' stamps.
	Now func() time.Time
}

func (r *Runner) say(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if r.Cfg.Timings {
		t := r.Now()
		fmt.Fprintf(r.Out, "==> [%d.%06d] %s\n", t.Unix(), t.Nanosecond()/1000, msg)
		return
	}
	fmt.Fprintf(r.Out, "==> %s\n", msg)
}

// interrupted explains a run stopped by a signal while the CLI ran.
func interrupted(ctx context.Context) error {
	return fmt.Errorf("%w; OpenTofu was interrupted and released the state lock (a lock it could not release is released by the next run)", context.Cause(ctx))
}

// Run is one run of the apply, reconcile, plan or destroy mode. It ends
// with an Event on the run's Job or CronJob saying what it did.
func (r *Runner) Run(ctx context.Context, mode Mode) error {
	var rep report
	err := r.run(ctx, mode, &rep)
	r.report(ctx, mode, rep, err)
	return err
}

func (r *Runner) run(ctx context.Context, mode Mode, rep *report) error {
	c := r.Cfg
	// apply and reconcile bring the admin API to the values; reconcile
	// never removes anything.
	converging := mode == ModeApply || mode == ModeReconcile
	if c.WorkDir == "" {
		return errors.New("TENANCY_WORK_DIR must name a writable directory")
	}
	if c.ConfigDir == "" {
		return errors.New("TENANCY_CONFIG_DIR must name the mounted tenancy ConfigMap")
	}
	files := []string{"main.tf", "backend.tf.json", "terraform.tfvars.json"}
	content := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(c.ConfigDir, f))
		if err != nil {
			return fmt.Errorf("%s is missing: is the tenancy ConfigMap mounted?", filepath.Join(c.ConfigDir, f))
		}
		content[f] = b
	}
	tfvars, backend := content["terraform.tfvars.json"], content["backend.tf.json"]
	if c.AdminTokenFile == "" {
		return errors.New("the admin token file (TEMPO_ADMIN_TOKEN_FILE unset) is not readable: is the admin token Secret mounted?")
	}
	if f, err := os.Open(c.AdminTokenFile); err != nil {
		return fmt.Errorf("the admin token file %s is not readable: is the admin token Secret mounted?", c.AdminTokenFile)
	} else {
		_ = f.Close()
	}
	bk, err := parseBackend(backend)
	if err != nil {
		return err
	}
	partNames, err := readStateParts(c.ConfigDir)
	if err != nil {
		return err
	}
	vars, err := parseVars(tfvars)
	if err != nil {
		return err
	}
	if over := crowdedParts(slices.Collect(maps.Keys(vars.Tokens)), partNames); over != "" {
		return &Refusal{Msg: fmt.Sprintf("state parts would hold more than %d tokens each: %s. Nothing was applied; raise state.parts (about one part per 200 tokens)", maxTokensPerPart, over)}
	}
	// The release's state, and the token parts' when it is split: each part
	// its own copy of the module, CLI data and variables.
	partVars, err := splitVars(tfvars, len(partNames))
	if err != nil {
		return err
	}
	parts := make([]*part, len(partVars))
	for i := range parts {
		p := &part{index: i, name: bk.SecretSuffix, vars: partVars[i],
			dir: filepath.Join(c.WorkDir, "module"), dataDir: filepath.Join(c.WorkDir, "terraform-data")}
		if i > 0 {
			p.name = partNames[i-1]
			p.dir = filepath.Join(c.WorkDir, "parts", p.name)
			p.dataDir = filepath.Join(c.WorkDir, "parts", p.name+".data")
		}
		if len(partVars) > 1 {
			p.label = "[" + p.name + "] "
		}
		if err := p.writeModule(content["main.tf"], backend, r.Self); err != nil {
			return err
		}
		parts[i] = p
	}
	scratch, err := os.MkdirTemp(or(c.ScratchDir, c.WorkDir), string(mode)+".")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(scratch) }()

	tfPath, err := exec.LookPath(c.TF)
	if err != nil {
		return fmt.Errorf("the CLI %q is not found: %w", c.TF, err)
	}
	tfName := filepath.Base(tfPath)
	cli := func(what string, err error) error {
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%s failed (exit %d)", what, exit.ExitCode())
		}
		return fmt.Errorf("%s failed: %w", what, err)
	}
	// quietCLI is cli for a command whose output is not shown: its error
	// carries what the CLI printed on stderr (never a secret: those are on
	// stdout), which is the only account of what went wrong.
	quietCLI := func(what string, err error) error {
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return fmt.Errorf("%s failed: %s", what, strings.TrimSpace(err.Error()))
	}
	// say tells of one part's step; the phase's own line comes first.
	sayPart := func(p *part, what string) {
		if p.label != "" {
			r.say("%s %s", what, strings.TrimSpace(p.label))
		}
	}
	// of names the part a failed command was for, when there are several.
	of := func(p *part, what string) string { return what + p.of() }
	var outMu sync.Mutex
	for _, p := range parts {
		p.stdout, p.stderr = r.Out, r.Err
		if p.label != "" {
			o := &linePrefixer{mu: &outMu, w: r.Out, prefix: p.label}
			e := &linePrefixer{mu: &outMu, w: r.Err, prefix: p.label}
			defer o.Flush()
			defer e.Flush()
			p.stdout, p.stderr = o, e
		}
		// loud shows what the CLI prints; quiet is for the commands whose
		// output holds secrets (outputs, the saved plan's JSON, the state),
		// read here only.
		if p.loud, err = tfexec.NewTerraform(p.dir, tfPath); err != nil {
			return err
		}
		if p.quiet, err = tfexec.NewTerraform(p.dir, tfPath); err != nil {
			return err
		}
		for _, tf := range []*tfexec.Terraform{p.loud, p.quiet} {
			// An interrupt gives OpenTofu time to stop cleanly and release
			// the state lock; the pod's grace period bounds the wait.
			if err := tf.SetWaitDelay(10 * time.Minute); err != nil {
				return err
			}
		}
		if err := p.applyEnv(); err != nil {
			return err
		}
	}
	// Parts work at once, within bounds: each is a CLI and a provider.
	onParts := func(ps []*part, f func(ctx context.Context, p *part) error) error {
		return eachOn(ctx, c.PartParallelism, len(ps), func(ctx context.Context, i int) error { return f(ctx, ps[i]) })
	}

	// One run at a time, for the whole run. killedStart is when a run that
	// stopped without releasing the Lease had started.
	var killedStart time.Time
	if c.RunLease != "" && c.StateNamespace != "" {
		var stateLocks []string
		for _, p := range parts {
			stateLocks = append(stateLocks, p.backend(bk.Namespace).stateLock())
		}
		lock, err := newRunLock(r.Kube, c, stateLocks, r.Now, r.say)
		if err != nil {
			return err
		}
		// Long enough for the Lease of a killed run to expire.
		wait := max(lockWait(c.LockTimeout), c.RunLeaseDuration+10*time.Second)
		previous, err := lock.acquire(ctx, wait)
		if err != nil {
			return err
		}
		defer lock.release(context.WithoutCancel(ctx))
		held, stop := context.WithCancelCause(ctx)
		defer stop(nil) // first: no renewal after the release
		go lock.hold(held, func(err error) { stop(err) })
		ctx = held
		if previous != "" {
			killedStart = lock.previousStart
			r.say("run lease taken over from %s, which stopped without releasing it", previous)
		}
		if err := freeStateLocks(ctx, r.Kube, c, lock, previous); err != nil {
			return err
		}
	}
	// From here on the release's tokens are this run's to make.
	started := r.Now()

	// The state's key: the name its key provider has in each stored state
	// (see stateKey), and the passphrase it is written with from now on.
	var passphrase, previousPassphrase string
	if c.StateKeyFile != "" {
		if passphrase, err = readPassphrase(c.StateKeyFile, "state.encryption.keySecret"); err != nil {
			return err
		}
		if c.PreviousStateKeyFile != "" {
			if previousPassphrase, err = readPassphrase(c.PreviousStateKeyFile, "state.encryption.previousKeySecret"); err != nil {
				return err
			}
		}
	}

	r.waitForAdminAPI(ctx)
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w while waiting for the admin API", err)
	}

	r.say("%s init", tfName)
	if err := onParts(parts, func(ctx context.Context, p *part) error {
		if c.StateKeyFile != "" {
			name, err := r.stateKeyName(ctx, p.backend(bk.Namespace))
			if err != nil {
				return err
			}
			p.key = stateKey{name: name, passphrase: passphrase}
			if err := p.setEncryption(p.key, nil, c.StateMigrate); err != nil {
				return err
			}
		}
		// The CLI's version, asked once and quietly: terraform-exec asks
		// it before the commands whose options depend on it.
		if _, _, err := p.quiet.Version(ctx, true); err != nil {
			return quietCLI(of(p, tfName+" version"), err)
		}
		if _, _, err := p.loud.Version(ctx, true); err != nil {
			return quietCLI(of(p, tfName+" version"), err)
		}
		p.loud.SetStdout(p.stdout)
		p.loud.SetStderr(p.stderr)
		// A rotation of the state key: when the current passphrase does
		// not read the state (init loads it), the state is read once with
		// the previous passphrase and written with the current one, under
		// the other key provider name.
		rotating := false
		if previousPassphrase != "" {
			if err := p.quiet.Init(ctx); err == nil {
				r.say("%sthe state is written with state.encryption.keySecret; state.encryption.previousKeySecret may be removed", p.label)
			} else {
				if ctx.Err() != nil {
					return interrupted(ctx)
				}
				rotating = true
				next := stateKey{name: otherKeyName(p.key.name), passphrase: p.key.passphrase}
				if err := p.setEncryption(next, &stateKey{name: p.key.name, passphrase: previousPassphrase}, false); err != nil {
					return err
				}
				p.key = next
			}
		}
		sayPart(p, tfName+" init")
		if err := cli(of(p, "init"), p.loud.Init(ctx)); err != nil {
			return err
		}
		if rotating {
			r.say("%s%s apply -refresh-only: writing the state with the new state key", p.label, tfName)
			if err := cli(of(p, "the re-keying refresh"), p.loud.Apply(ctx, tfexec.RefreshOnly(true), tfexec.LockTimeout(c.LockTimeout))); err != nil {
				return err
			}
			if err := p.setEncryption(p.key, nil, false); err != nil {
				return err
			}
			r.say("%sthe state is now written with state.encryption.keySecret; remove state.encryption.previousKeySecret", p.label)
		}
		if c.StateKeyFile != "" && c.StateMigrate {
			r.say("%s%s apply -refresh-only: writing the state encrypted", p.label, tfName)
			if err := cli(of(p, "the encrypting refresh"), p.loud.Apply(ctx, tfexec.RefreshOnly(true), tfexec.LockTimeout(c.LockTimeout))); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}

	// What may have to go: every Secret the state or the record names.
	rec, err := readRecord(ctx, r.Kube, c)
	if err != nil {
		return err
	}
	// What a killed run may have left is looked for until a run gets that
	// far: a run that fails before does not forget it.
	if !killedStart.IsZero() {
		if err := r.armSweep(ctx, &rec, killedStart); err != nil {
			return err
		}
	}
	// Token parts an earlier run wrote to stay known: a run that no longer
	// read one would make its tokens again and leave its own live.
	if dropped := droppedParts(rec.StateParts, partNames); len(dropped) > 0 {
		return &Refusal{Msg: fmt.Sprintf("the state is split in %d token parts, of which these values leave out %s: state.parts cannot be lowered, since their tokens would be made again and theirs left live. Nothing was applied; set state.parts back to %d (helm upgrade --reuse-values --set state.parts=%d)",
			len(rec.StateParts), strings.Join(dropped, ", "), len(rec.StateParts), len(rec.StateParts))}
	}
	if len(partNames) > len(rec.StateParts) && mode != ModePlan {
		rec.StateParts = slices.Clone(partNames)
		if err := writeRecord(ctx, r.Kube, c, rec); err != nil {
			return err
		}
	}
	// Every token is in its part once a run has moved them for these parts;
	// until then (a change of state.parts, a move that stopped) each part's
	// state is read to find those to move.
	if mode != ModeDestroy && len(partNames) > 0 && !slices.Equal(rec.PartsSettled, partNames) {
		moved, err := r.rebalance(parts, tfPath, mode == ModePlan, onParts)
		if err != nil {
			return err
		}
		if moved > 0 && mode == ModePlan {
			return &Drift{Msg: fmt.Sprintf("%d tokens are in another state part than the values give them (state.parts changed): the next run moves them, replacing none", moved)}
		}
		if moved > 0 {
			r.say("%d tokens moved to the state part their key belongs to, with their secrets: none replaced", moved)
		}
		if mode != ModePlan {
			rec.PartsSettled = slices.Clone(partNames)
			if err := writeRecord(ctx, r.Kube, c, rec); err != nil {
				return err
			}
		}
	}
	outsBefore := make([]map[string]TokenSecret, len(parts))
	if err := onParts(parts, func(ctx context.Context, p *part) error {
		var err error
		outsBefore[p.index], err = r.tokenSecrets(ctx, p)
		return err
	}); err != nil {
		return err
	}
	before := mergeOutputs(outsBefore)
	previous := mergeTargets(targetsOf(before), rec.Secrets)
	phase := secretsPhase{cfg: c, kube: r.Kube, say: r.say}
	if converging {
		named, err := secretsNamed(tfvars)
		if err != nil {
			return err
		}
		if err := phase.checkNoForeign(ctx, named, previous); err != nil {
			return err
		}
	}

	for _, p := range parts {
		p.planFile = filepath.Join(scratch, fmt.Sprintf("tfplan-%d", p.index))
		p.opts = []tfexec.PlanOption{tfexec.Out(p.planFile), tfexec.LockTimeout(c.LockTimeout)}
	}
	if c.AdoptExisting && mode != ModeDestroy {
		adopt, unsure, err := r.existingToAdopt(ctx, tfvars, before, rec.Revocations)
		if err != nil {
			return err
		}
		r.say("runner.adoptExisting: importing what the values declare and the admin API has, unless the state holds it: %d tenants, %d access policies, %d tokens",
			len(adopt.Tenants), len(adopt.AccessPolicies), len(adopt.Tokens))
		if len(unsure) > 0 {
			// Listed before anything is created, as handed-off tokens are.
			rec.Revocations = addRevocations(rec.Revocations, unsure)
			if err := writeRecord(ctx, r.Kube, c, rec); err != nil {
				return err
			}
			r.say("%d live tokens of entries with more than one candidate are not adopted: those entries get new tokens, and these are revoked after the overlap", len(unsure))
		}
		for i, a := range splitAdopt(adopt, len(partNames)) {
			if err := parts[i].setAdopt(a); err != nil {
				return err
			}
		}
	}
	planAll := func(ps []*part) error {
		return onParts(ps, func(ctx context.Context, p *part) error {
			sayPart(p, tfName+" plan")
			var err error
			p.changes, err = p.loud.Plan(ctx, p.opts...)
			return cli(of(p, "plan"), err)
		})
	}
	if mode == ModeDestroy {
		r.say("%s plan -destroy", tfName)
		for _, p := range parts {
			p.opts = append(p.opts, tfexec.Destroy(true))
		}
	} else {
		r.say("%s plan", tfName)
	}
	if err := planAll(parts); err != nil {
		return err
	}
	changed := func() []*part {
		var out []*part
		for _, p := range parts {
			if p.changes {
				out = append(out, p)
			}
		}
		return out
	}
	if mode == ModePlan {
		if len(changed()) > 0 {
			return &Drift{Msg: "the plan has changes: the admin API (or the state) differs from the values; the plan above shows what the next run would change"}
		}
		r.say("plan only: no changes, nothing applied")
		return nil
	}

	var consented []planRemoval
	var handoffs []pendingRevocation
	var hold []dueRotation
	if converging && len(changed()) > 0 {
		if err := onParts(changed(), func(ctx context.Context, p *part) error {
			var err error
			p.plan, err = p.quiet.ShowPlanFile(ctx, p.planFile)
			return quietCLI(of(p, "reading the saved plan"), err)
		}); err != nil {
			return err
		}
		var replaced []string
		var removals []planRemoval
		var due []dueRotation
		rep.create, rep.update, rep.rotate = 0, 0, 0
		now := time.Time{}
		for _, p := range changed() {
			rep.count(p.plan)
			n, rs := importsIn(p.plan)
			rep.adopted += n
			replaced = append(replaced, rs...)
			removals = append(removals, removalsIn(p.plan)...)
			due = append(due, rotationsIn(p.plan)...)
			if now.IsZero() {
				now = planTime(p.plan, time.Time{})
			}
		}
		if len(replaced) > 0 {
			return &Refusal{Msg: "the plan would replace tokens as it adopts them, revoking them at once with no overlap for their consumers:\n" + strings.Join(replaced, "\n") +
				"\nnothing was applied. Adopt them first with values that match what they are (access policy, display name, name or a namePrefix their name begins with); the plan above shows what differs. Change the values in a later upgrade, which replaces them with an overlap"}
		}
		if mode == ModeReconcile && len(removals) > 0 {
			var what []string
			for _, rm := range removals {
				what = append(what, rm.String())
			}
			return &Refusal{Msg: "the plan would remove what the state holds and the values no longer name:\n" + strings.Join(what, "\n") +
				"\nnothing was applied. A scheduled run never removes anything: removals are made by an upgrade of the release with runner.allowRemovals or runner.allowDestroy"}
		}
		notAllowed, usedBefore, ok := consentCheck(removals, c, rec)
		if len(notAllowed) > 0 {
			return &Refusal{Msg: "the plan would remove what is still in use:\n" + strings.Join(notAllowed, "\n") +
				"\nnothing was applied. If these removals are intended, list them under runner.allowRemovals (tenants, accessPolicies, tokens) or set runner.allowDestroy=true for this upgrade; if not, check the values (a typo, or helm upgrade --set without --reuse-values, leaves out what was there)"}
		}
		if len(usedBefore) > 0 {
			return &Refusal{Msg: "the plan would remove again what a consent already removed once:\n" + strings.Join(usedBefore, "\n") +
				"\nnothing was applied. Values that allowed a removal come back with a rollback or a sync to an older revision, and do not allow it again. If these removals are intended now, give the allowance with a runner.consentId not used before"}
		}
		consented = ok
		declared, err := declaredKeys(tfvars)
		if err != nil {
			return err
		}
		if now.IsZero() {
			now = r.Now()
		}
		hold = toHold(due, c.MaxRotations, now)
		for _, p := range changed() {
			p.handoffs = withoutHeld(handoffsIn(p.plan, before, declared), hold)
			handoffs = append(handoffs, p.handoffs...)
			// Its plan changes when it hands tokens off or holds some.
			p.replan = len(p.handoffs) > 0 || holds(p.plan, hold)
			p.plan = nil // read: the memory of every part's plan need not stay
		}
		rep.rotate -= len(hold)
		rep.held = len(hold)
	}

	// The parts whose plan changes: those that hand tokens off, and those
	// whose due rotations wait.
	var replan []*part
	for _, p := range changed() {
		if p.replan {
			replan = append(replan, p)
		}
	}
	if len(hold) > 0 {
		r.say("%d tokens due for rotation wait for a later run (runner.maxRotationsPerRun is %d): those that expire last", len(hold), c.MaxRotations)
		file, err := writeHold(scratch, hold)
		if err != nil {
			return err
		}
		for _, p := range parts {
			p.opts = append(p.opts, tfexec.VarFile(file))
		}
	}
	if len(handoffs) > 0 {
		// Listed before they leave the state: from here on, a run that
		// stops leaves them to the next, never live and unmanaged.
		rec.Revocations = addRevocations(rec.Revocations, handoffs)
		if err := writeRecord(ctx, r.Kube, c, rec); err != nil {
			return err
		}
		r.say("%d tokens replaced while their Secrets stay in use: their successors are made and written first, and they are revoked after the overlap", len(handoffs))
		if err := onParts(replan, func(ctx context.Context, p *part) error {
			if len(p.handoffs) == 0 {
				return nil
			}
			return r.stateRm(ctx, tfPath, p, p.handoffs)
		}); err != nil {
			return err
		}
	}
	if len(replan) > 0 {
		r.say("%s plan, without the replaced tokens and with the held ones kept", tfName)
		if err := planAll(replan); err != nil {
			return err
		}
		if err := onParts(replan, func(ctx context.Context, p *part) error {
			if !p.changes {
				return nil
			}
			plan, err := p.quiet.ShowPlanFile(ctx, p.planFile)
			if err := quietCLI(of(p, "reading the saved plan"), err); err != nil {
				return err
			}
			if extra := removalsOutside(removalsIn(plan), consented); len(extra) > 0 {
				return &Refusal{Msg: "the second plan" + p.of() + " would remove what the first did not show:\n" + strings.Join(extra, "\n") + "\nnothing was applied; run again"}
			}
			return nil
		}); err != nil {
			return err
		}
	}

	if len(changed()) > 0 && converging {
		// An apply that creates tokens and then cannot write the state (a
		// write refused, the state Secret too large, a kill) leaves them
		// live and unrecorded: they are looked for from this run's start
		// until a run gets past its Secrets.
		if err := r.armSweep(ctx, &rec, started); err != nil {
			return err
		}
	}
	if len(changed()) > 0 {
		r.say("%s apply", tfName)
		apply := func(ctx context.Context, p *part) error {
			if !p.changes {
				return nil
			}
			sayPart(p, tfName+" apply")
			// The saved plan holds secrets, in memory: gone once applied.
			defer func() { _ = os.Remove(p.planFile) }()
			return cli(of(p, "apply"), p.loud.Apply(ctx, tfexec.DirOrPlan(p.planFile), tfexec.LockTimeout(c.LockTimeout)))
		}
		// The release's part makes the tenants and policies the tokens
		// name, and on a destroy goes last.
		if mode != ModeDestroy {
			if err := apply(ctx, parts[0]); err != nil {
				return err
			}
		}
		if err := onParts(parts[1:], apply); err != nil {
			return err
		}
		if mode == ModeDestroy {
			if err := apply(ctx, parts[0]); err != nil {
				return err
			}
		}
	} else {
		r.say("no changes to apply")
	}
	// The consents used are recorded at once, and the record gains the
	// Secrets the apply may have written (write-secret) before any is
	// removed.
	at := r.Now().UTC().Format(time.RFC3339)
	for _, u := range consented {
		rec.Consents = append(rec.Consents, usedConsent{Address: u.Address, Consent: c.ConsentID, At: at})
		r.say("%s: removed with consent %q, which will not remove it again", u.Address, c.ConsentID)
	}
	if len(consented) > 0 {
		rec.Secrets = previous
		if err := writeRecord(ctx, r.Kube, c, rec); err != nil {
			return err
		}
	}

	r.say("token Secrets: reading the outputs")
	after := map[string]TokenSecret{}
	if mode != ModeDestroy {
		outs := make([]map[string]TokenSecret, len(parts))
		if err := onParts(parts, func(ctx context.Context, p *part) error {
			var err error
			outs[p.index], err = r.tokenSecrets(ctx, p)
			return err
		}); err != nil {
			return err
		}
		after = mergeOutputs(outs)
	}
	want, missing := desiredSecrets(c, after)
	if len(missing) > 0 {
		r.say("tokens without a known secret (imported?), not written: %s", joinKeys(missing))
	}
	written, err := phase.write(ctx, want, previous)
	if err != nil {
		return err
	}
	r.say("token Secrets: %d, %d written", len(want), written)
	rep.written = written

	// The record first gains what was written, and loses what was removed
	// only once it is gone.
	current := targetsOf(after)
	rec.Secrets = mergeTargets(previous, current)
	if err := writeRecord(ctx, r.Kube, c, rec); err != nil {
		return err
	}
	// A scheduled run leaves the Secrets of tokens that are gone to the
	// next upgrade: it removes nothing.
	if mode != ModeReconcile {
		pending, err := phase.remove(ctx, removals(previous, current), previous)
		if err != nil {
			return err
		}
		rec.Secrets = mergeTargets(current, pending)
		if err := writeRecord(ctx, r.Kube, c, rec); err != nil {
			return err
		}
	}
	// Workloads that read their token once take the new one now, while
	// the one they hold still works.
	if converging {
		restarts, err := readRestarts(c.ConfigDir)
		if err != nil {
			return err
		}
		rep.restarted = r.restartWorkloads(ctx, restarts, changedKeys(before, after))
	}
	// A run killed outright may have created tokens its state never
	// recorded: they are revoked with the replaced ones.
	if since, err := time.Parse(time.RFC3339, rec.SweepSince); err == nil {
		orphans, err := r.orphansOf(ctx, since, after, tfvars)
		if err != nil {
			return err
		}
		if len(orphans) > 0 {
			r.say("%d tokens created by a run that stopped before its state recorded them: revoked with the replaced ones", len(orphans))
		}
		// Listed for revocation, they need no further search.
		rec.Revocations = addRevocations(rec.Revocations, orphans)
		rec.SweepSince = ""
		if err := writeRecord(ctx, r.Kube, c, rec); err != nil {
			return err
		}
	}
	// Every Secret now holds its token's secret: the replaced tokens go
	// after one overlap (at once on a destroy, whose Secrets are gone).
	if rep.revoked, err = r.revokePending(ctx, &rec, after, tfvars, mode != ModeDestroy); err != nil {
		return err
	}
	r.say("%s", rep)
	r.say("done")
	return nil
}

// lockWait is how long a run waits for another to end: the CLI's own lock
// timeout, which the chart sets from runner.lockTimeout.
func lockWait(lockTimeout string) time.Duration {
	d, err := time.ParseDuration(lockTimeout)
	if err != nil || d < 0 {
		return 2 * time.Minute
	}
	return d
}

// backendConfig is where the module's kubernetes backend keeps the state.
type backendConfig struct {
	SecretSuffix string `json:"secret_suffix"`
	Namespace    string `json:"namespace"`
}

func (b backendConfig) stateSecret() string { return "tfstate-default-" + b.SecretSuffix }

// stateLock is the Lease the backend locks the state with.
func (b backendConfig) stateLock() string { return "lock-" + b.stateSecret() }

func parseBackend(backendJSON []byte) (backendConfig, error) {
	var b struct {
		Terraform struct {
			Backend struct {
				Kubernetes backendConfig `json:"kubernetes"`
			} `json:"backend"`
		} `json:"terraform"`
	}
	if err := json.Unmarshal(backendJSON, &b); err != nil {
		return backendConfig{}, fmt.Errorf("backend.tf.json: %w", err)
	}
	k := b.Terraform.Backend.Kubernetes
	if k.SecretSuffix == "" || k.Namespace == "" {
		return backendConfig{}, errors.New("backend.tf.json names no kubernetes backend (secret_suffix and namespace)")
	}
	return k, nil
}

// stateKeyName is the name of the key provider the stored state was
// written with; the first name when there is no state yet, or it is not
// encrypted.
func (r *Runner) stateKeyName(ctx context.Context, k backendConfig) (string, error) {
	name := k.stateSecret()
	s, err := r.Kube.CoreV1().Secrets(k.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return keyNameFirst, nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the state %s/%s: %s", k.Namespace, name, apiMessage(err))
	}
	n, err := keyNameInState(s.Data["tfstate"])
	if err != nil {
		return "", fmt.Errorf("the state %s/%s: %w", k.Namespace, name, err)
	}
	if n == "" {
		n = keyNameFirst
	}
	return n, nil
}

// tokenSecrets reads the token_secrets output of the state. Before the first
// apply there is none; a failure to read it must not look like "no tokens",
// or every token Secret would be removed.
func (r *Runner) tokenSecrets(ctx context.Context, p *part) (map[string]TokenSecret, error) {
	outs, err := p.quiet.Output(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, interrupted(ctx)
		}
		return nil, fmt.Errorf("cannot read the outputs of the state%s: %s", p.of(), strings.TrimSpace(err.Error()))
	}
	ts, err := parseTokenSecrets(outs[tokenSecretsOutput].Value)
	if err != nil {
		return nil, fmt.Errorf("the state%s: %w", p.of(), err)
	}
	return ts, nil
}

// waitForAdminAPI waits, up to the configured time, for the admin API to
// answer at all: beside a first install of GET it may not yet. Any HTTP
// answer but a gateway's means it is up (nothing is sent but the request
// line); the provider reports anything else.
func (r *Runner) waitForAdminAPI(ctx context.Context) {
	c := r.Cfg
	if c.WaitForAdminAPI <= 0 || c.AdminURL == "" {
		return
	}
	base := strings.TrimSuffix(strings.TrimSuffix(c.AdminURL, "/"), "/admin/api/v3")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if c.AdminCAFile != "" {
		if pem, err := os.ReadFile(c.AdminCAFile); err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
	}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(c.WaitForAdminAPI)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/admin/api/v3/clusters", nil)
		if err != nil {
			return
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			default:
				return
			}
		}
		if !time.Now().Before(deadline) {
			r.say("the admin API at %s does not answer yet; going on", base)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// armSweep makes the record say that tokens created from since on may be
// live without the state knowing them; the earliest such time is kept.
func (r *Runner) armSweep(ctx context.Context, rec *record, since time.Time) error {
	if at, err := time.Parse(time.RFC3339, rec.SweepSince); err == nil && !since.Before(at) {
		return nil
	}
	rec.SweepSince = since.UTC().Format(time.RFC3339)
	return writeRecord(ctx, r.Kube, r.Cfg, *rec)
}
