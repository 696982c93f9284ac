package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// adoptions is the module's adopt variable: the existing objects a run
// imports instead of creating. Tokens map the key of the values' token to
// the existing token's name.
type adoptions struct {
	Tenants        []string          `json:"tenants"`
	AccessPolicies []string          `json:"access_policies"`
	Tokens         map[string]string `json:"tokens"`
}

func (a adoptions) count() int { return len(a.Tenants) + len(a.AccessPolicies) + len(a.Tokens) }

// merge adds b's entries to a's; an explicit token entry of a wins.
func (a adoptions) merge(b adoptions) adoptions {
	out := adoptions{
		Tenants:        union(a.Tenants, b.Tenants),
		AccessPolicies: union(a.AccessPolicies, b.AccessPolicies),
		Tokens:         map[string]string{},
	}
	maps.Copy(out.Tokens, b.Tokens)
	maps.Copy(out.Tokens, a.Tokens)
	return out
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// existing is what the admin API holds, as adoption needs it.
type existing struct {
	tenants, policies map[string]bool // active ones
	tokens            []adminapi.Token
}

// adoptable lists what the values declare, the admin API has, and the
// state does not: active tenants and access policies by name; a token
// with a name by that name, and one with a name prefix by the one live
// token whose name was generated from that prefix, with its access
// policy. Tokens in the state and tokens waiting for their revocation are
// never candidates. An entry with several candidates (a run stopped during
// a rotation's overlap) adopts none: they are returned for revocation, and
// the entry gets a new token, written before they are revoked.
func adoptable(vars moduleVars, have existing, state map[string]TokenSecret, skip map[string]bool, now time.Time) (adoptions, []pendingRevocation) {
	out := adoptions{Tokens: map[string]string{}}
	for name := range vars.Tenants {
		if have.tenants[name] {
			out.Tenants = append(out.Tenants, name)
		}
	}
	for name := range vars.AccessPolicies {
		if have.policies[name] {
			out.AccessPolicies = append(out.AccessPolicies, name)
		}
	}
	sort.Strings(out.Tenants)
	sort.Strings(out.AccessPolicies)
	taken := map[string]bool{}
	maps.Copy(taken, skip)
	for _, ts := range state {
		taken[ts.TokenName] = true
	}
	for _, name := range vars.Adopt.Tokens {
		taken[name] = true
	}
	var ambiguous []pendingRevocation
	for _, key := range slices.Sorted(maps.Keys(vars.Tokens)) {
		v := vars.Tokens[key]
		_, inState := state[key]
		_, named := vars.Adopt.Tokens[key] // the values say which
		if inState || named {
			continue
		}
		var found []string
		for _, tk := range have.tokens {
			if taken[tk.Name] || tk.Status != adminapi.StatusActive || tk.AccessPolicy != v.AccessPolicy || expiredAt(tk.Expiration, now) {
				continue
			}
			if (v.Name != "" && tk.Name == v.Name) || (v.Name == "" && v.NamePrefix != "" && generatedFrom(tk.Name, v.NamePrefix)) {
				found = append(found, tk.Name)
			}
		}
		switch {
		case len(found) == 1:
			out.Tokens[key] = found[0]
		case len(found) > 1:
			sort.Strings(found)
			where := ""
			if v.Secret != nil {
				where = secretKey{v.Secret.Namespace, v.Secret.Name, v.Secret.Key}.String()
			}
			for _, name := range found {
				ambiguous = append(ambiguous, pendingRevocation{Name: name, Address: fmt.Sprintf("tempo_token.this[%q]", key), ReadFrom: where})
			}
		}
	}
	return out, ambiguous
}

func expiredAt(expiration string, now time.Time) bool {
	t, err := time.Parse(time.RFC3339, expiration)
	return err == nil && !t.After(now)
}

// existingToAdopt asks the admin API what the values declare that the
// state lacks (runner.adoptExisting), for a state that was lost or
// objects made before the release. It also returns the tokens to revoke
// after the overlap: those of entries with several candidates.
func (r *Runner) existingToAdopt(ctx context.Context, tfvars []byte, state map[string]TokenSecret, pending []pendingRevocation) (adoptions, []pendingRevocation, error) {
	vars, err := parseVars(tfvars)
	if err != nil {
		return adoptions{}, nil, err
	}
	admin, err := r.adminClient(tfvars)
	if err != nil {
		return adoptions{}, nil, fmt.Errorf("looking for existing objects to adopt: %w", err)
	}
	have := existing{tenants: map[string]bool{}, policies: map[string]bool{}}
	tenants, err := admin.ListTenants(ctx, false)
	if err != nil {
		return adoptions{}, nil, fmt.Errorf("looking for existing tenants to adopt: %w", err)
	}
	for _, t := range tenants {
		have.tenants[t.Name] = t.Status == adminapi.StatusActive
	}
	policies, err := admin.ListAccessPolicies(ctx, false)
	if err != nil {
		return adoptions{}, nil, fmt.Errorf("looking for existing access policies to adopt: %w", err)
	}
	for _, p := range policies {
		have.policies[p.Name] = p.Status == adminapi.StatusActive
	}
	if have.tokens, err = admin.ListTokens(ctx, false); err != nil {
		return adoptions{}, nil, fmt.Errorf("looking for existing tokens to adopt: %w", err)
	}
	skip := map[string]bool{}
	for _, p := range pending {
		skip[p.Name] = true
	}
	found, ambiguous := adoptable(vars, have, state, skip, r.Now())
	return vars.Adopt.merge(found), ambiguous, nil
}

// withAdopt returns the variables with adopt set to a. The adoptions go
// into the variables file the part's directory holds, never into a file
// given to the plan alone: applying a saved plan reads that directory's
// variables again, and refuses a value that differs from the plan's.
func withAdopt(tfvars []byte, a adoptions) ([]byte, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(tfvars, &all); err != nil {
		return nil, fmt.Errorf("terraform.tfvars.json: %w", err)
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	all["adopt"] = raw
	return json.Marshal(all)
}

// importsIn counts the objects a plan imports, and lists the tokens it
// would replace in the same apply: an adopted token whose values differ
// from what it is (another access policy, display name or name), which
// would be revoked at once, with no overlap for its consumers.
func importsIn(p *tfjson.Plan) (int, []string) {
	n := 0
	var replaced []string
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Change.Importing == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		n++
		if rc.Change.Actions.Replace() || rc.Change.Actions.Delete() {
			replaced = append(replaced, "  "+rc.Address)
		}
	}
	return n, replaced
}
