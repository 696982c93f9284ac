package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// A token replaced while its Secret stays in use (a rotation, or a new
// name for the same Secret key) is handed off: the runner takes it out of
// the state before the apply, so that the CLI only creates its successor,
// and revokes it itself once every successor's secret has been in its
// Secret for the rotation overlap. A run thus waits one overlap whatever
// the number of rotations, and the old token is never revoked before its
// consumers can read the new one.
//
// Every handed-off token is listed in the record before it leaves the
// state, and leaves the list only once revoked: a run killed in between
// (OOM, eviction, node loss) leaves it to the next run, never live and
// unmanaged.

// pendingRevocation is a handed-off token, not yet revoked.
type pendingRevocation struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	// ReadFrom is where its consumers read it, namespace/name:key.
	ReadFrom string `json:"read_from"`
}

// secretKey is one key of one Secret.
type secretKey struct{ Namespace, Name, Key string }

func (k secretKey) String() string { return k.Namespace + "/" + k.Name + ":" + k.Key }

// moduleVars is what the runner reads of the module's variables file.
type moduleVars struct {
	AllowedEndpoints []string                   `json:"allowed_endpoints"`
	Tenants          map[string]json.RawMessage `json:"tenants"`
	AccessPolicies   map[string]json.RawMessage `json:"access_policies"`
	Adopt            adoptions                  `json:"adopt"`
	Tokens           map[string]struct {
		Name         string `json:"name"`
		NamePrefix   string `json:"name_prefix"`
		AccessPolicy string `json:"access_policy"`
		Secret       *struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secret"`
	} `json:"tokens"`
}

func parseVars(tfvars []byte) (moduleVars, error) {
	var vars moduleVars
	if err := json.Unmarshal(tfvars, &vars); err != nil {
		return vars, fmt.Errorf("terraform.tfvars.json: %w", err)
	}
	return vars, nil
}

// declaredKeys lists the Secret keys the values' tokens are written to.
func declaredKeys(tfvars []byte) (map[secretKey]bool, error) {
	vars, err := parseVars(tfvars)
	if err != nil {
		return nil, err
	}
	out := map[secretKey]bool{}
	for _, t := range vars.Tokens {
		if t.Secret != nil {
			out[secretKey{t.Secret.Namespace, t.Secret.Name, t.Secret.Key}] = true
		}
	}
	return out, nil
}

// handoffsIn lists the tokens a plan replaces or revokes whose Secret key
// the values still write: their consumers go on reading it, so they are
// handed off. A token whose Secret goes away with it is left to the apply,
// which revokes it at once; so is the old half of a replacement an earlier
// run began (deposed), which the state no longer has a Secret for.
func handoffsIn(p *tfjson.Plan, before map[string]TokenSecret, declared map[secretKey]bool) []pendingRevocation {
	var out []pendingRevocation
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Type != "tempo_token" || rc.Mode != tfjson.ManagedResourceMode || rc.DeposedKey != "" {
			continue
		}
		if !rc.Change.Actions.Delete() && !rc.Change.Actions.Replace() {
			continue
		}
		key, ok := rc.Index.(string)
		if !ok {
			continue
		}
		was, ok := before[key]
		if !ok {
			continue
		}
		sk := secretKey{was.Namespace, was.Name, was.Key}
		name, _ := rc.Change.Before.(map[string]any)["name"].(string)
		if name == "" || !declared[sk] {
			continue
		}
		out = append(out, pendingRevocation{Name: name, Address: rc.Address, ReadFrom: sk.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// addRevocations joins lists of pending revocations, one entry per token.
func addRevocations(lists ...[]pendingRevocation) []pendingRevocation {
	seen := map[string]bool{}
	var out []pendingRevocation
	for _, l := range lists {
		for _, p := range l {
			if !seen[p.Name] {
				seen[p.Name] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// stateRm takes the handed-off tokens out of a part's state, in one
// command.
func (r *Runner) stateRm(ctx context.Context, tfPath string, p *part, hs []pendingRevocation) error {
	args := []string{"state", "rm", "-lock-timeout=" + or(r.Cfg.LockTimeout, "120s")}
	for _, h := range hs {
		args = append(args, h.Address)
	}
	cmd := p.command(ctx, tfPath, args...)
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		return fmt.Errorf("taking the replaced tokens out of the state%s failed (%w); they stay live and listed in the record, and the next run revokes them once their successors are written", p.of(), err)
	}
	return nil
}

// revokePending revokes the handed-off tokens of this run and of earlier
// runs that stopped before they could: after one overlap, counted from now,
// when every Secret already holds its successor's secret (wait), at once
// otherwise (a destroy, whose Secrets go). A token the state holds again is
// never revoked. Those revoked leave the record; those that fail stay in it
// for the next run, and the run fails naming them. It returns how many it
// revoked.
func (r *Runner) revokePending(ctx context.Context, rec *record, state map[string]TokenSecret, tfvars []byte, wait bool) (int, error) {
	held := map[string]bool{}
	for _, ts := range state {
		held[ts.TokenName] = true
	}
	var todo []pendingRevocation
	for _, p := range rec.Revocations {
		if !held[p.Name] {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		if len(rec.Revocations) > 0 {
			rec.Revocations = nil
			return 0, writeRecord(ctx, r.Kube, r.Cfg, *rec)
		}
		return 0, nil
	}
	if wait && r.Cfg.RotationOverlap > 0 {
		r.say("%d replaced tokens: revoked in %s, once consumers have read their successors' secrets", len(todo), r.Cfg.RotationOverlap)
		select {
		case <-time.After(r.Cfg.RotationOverlap):
		case <-ctx.Done():
			return 0, fmt.Errorf("%w during the rotation overlap; the replaced tokens stay listed in the record, and the next run revokes them", context.Cause(ctx))
		}
	}
	admin, err := r.adminClient(tfvars)
	if err != nil {
		return 0, fmt.Errorf("revoking the replaced tokens: %w", err)
	}
	// A token never tried (the run stopped first) is not revoked: it
	// stays listed.
	errs := make([]error, len(todo))
	for i := range errs {
		errs[i] = errors.New("not tried: the run stopped first")
	}
	_ = each(ctx, len(todo), func(ctx context.Context, i int) error {
		err := admin.DeleteToken(ctx, todo[i].Name, 0)
		if errors.Is(err, adminapi.ErrNotFound) {
			err = nil
		}
		errs[i] = err
		return nil
	})
	var left []pendingRevocation
	var failed []string
	revoked := 0
	for i, p := range todo {
		if errs[i] != nil {
			left = append(left, p)
			failed = append(failed, fmt.Sprintf("  token %s (%s, secret %s): %v", p.Name, p.Address, p.ReadFrom, errs[i]))
			continue
		}
		revoked++
	}
	rec.Revocations = left
	if err := writeRecord(context.WithoutCancel(ctx), r.Kube, r.Cfg, *rec); err != nil {
		return revoked, err
	}
	r.say("replaced tokens: %d revoked", revoked)
	if len(failed) > 0 {
		return revoked, fmt.Errorf("these replaced tokens could not be revoked and are still live:\n%s\nthey stay listed in the record %s/%s; the next run revokes them (or revoke them on the admin API)",
			strings.Join(failed, "\n"), r.Cfg.StateNamespace, r.Cfg.Record)
	}
	return revoked, nil
}

// adminClient is the runner's own client of the admin API, bound by the
// provider's allowed_endpoints.
func (r *Runner) adminClient(tfvars []byte) (*adminapi.Client, error) {
	vars, err := parseVars(tfvars)
	if err != nil {
		return nil, err
	}
	return adminapi.New(adminapi.Config{
		URL: r.Cfg.AdminURL, TokenFile: r.Cfg.AdminTokenFile, CACertFile: r.Cfg.AdminCAFile,
		AllowedEndpoints: vars.AllowedEndpoints, UserAgent: "tempo-tenancy-runner",
	})
}

// orphanSlack is how far before the killed run's start a token may have
// been created and still be counted as its own: the admin API's clock and
// the Kubernetes API's may differ.
const orphanSlack = 5 * time.Minute

// orphansOf lists the live tokens a run killed outright (OOM, eviction,
// node loss) created and never recorded: the CLI writes the state at the
// end of an apply, so a kill loses every create of that apply. A token is
// counted as such only when it carries a name the module generates for one
// of the values' tokens (its name_prefix and twelve characters), has that
// token's access policy, was created after the killed run started, and is
// not in the state: nobody else's token, nor one the state holds.
func (r *Runner) orphansOf(ctx context.Context, since time.Time, state map[string]TokenSecret, tfvars []byte) ([]pendingRevocation, error) {
	vars, err := parseVars(tfvars)
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, ts := range state {
		held[ts.TokenName] = true
	}
	admin, err := r.adminClient(tfvars)
	if err != nil {
		return nil, fmt.Errorf("looking for tokens of the run that stopped: %w", err)
	}
	live, err := admin.ListTokens(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("looking for tokens of the run that stopped: %w", err)
	}
	var out []pendingRevocation
	for _, t := range live {
		created, err := time.Parse(time.RFC3339, t.CreatedAt)
		if held[t.Name] || t.Status != adminapi.StatusActive || err != nil || created.Before(since.Add(-orphanSlack)) {
			continue
		}
		for key, v := range vars.Tokens {
			if v.NamePrefix == "" || v.AccessPolicy != t.AccessPolicy || !generatedFrom(t.Name, v.NamePrefix) {
				continue
			}
			where := ""
			if v.Secret != nil {
				where = secretKey{v.Secret.Namespace, v.Secret.Name, v.Secret.Key}.String()
			}
			out = append(out, pendingRevocation{Name: t.Name, Address: fmt.Sprintf("tempo_token.this[%q]", key), ReadFrom: where})
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// generatedFrom reports whether name is one the provider generates from
// prefix: the prefix, a "-" unless it ends in "-" or "_", and twelve
// characters of a-z and 0-9.
func generatedFrom(name, prefix string) bool {
	if !strings.HasSuffix(prefix, "-") && !strings.HasSuffix(prefix, "_") {
		prefix += "-"
	}
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || len(rest) != 12 {
		return false
	}
	for _, c := range rest {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
