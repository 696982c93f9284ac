package runner

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A release's state can be split in parts (state.parts), so that no state
// Secret comes near the 1 MiB a Kubernetes object may hold: the release's
// own state keeps the tenants and access policies, and each token lives in
// one of the token parts, chosen by a hash of its key in the values. The
// parts share the module; each has its own Secret and lock, and its own
// variables: the token parts name policies by their names, which the
// release's part creates first (and, on a destroy, removes last).
//
// The chart names the token parts' state suffixes in state-parts.json; the
// runner assigns the tokens, so that the assignment is one function, tested
// here, whatever the chart renders.

// statePartsFile is the ConfigMap key listing the token parts' state
// suffixes; absent, or empty, when the state is one part.
const statePartsFile = "state-parts.json"

// maxTokensPerPart bounds the tokens one part holds. An encrypted token
// takes about 1.5 KB of state, and a bulk rotation briefly holds two
// generations: 280 tokens stay under 80 % of a Secret's 1 MiB even then.
const maxTokensPerPart = 280

// readStateParts reads the token parts' suffixes the chart rendered.
func readStateParts(configDir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(configDir, statePartsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, fmt.Errorf("%s: %w", statePartsFile, err)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("%s: empty or repeated part %q", statePartsFile, n)
		}
		seen[n] = true
	}
	return names, nil
}

// partOf is the token part, of n, that holds the token of key: from a
// SHA-256 of the key, whose every bit depends on every byte of it, so that
// keys alike but for a digit spread as well as any.
func partOf(key string, n int) int {
	sum := sha256.Sum256([]byte(key))
	return int(binary.BigEndian.Uint64(sum[:8]) % uint64(n)) //nolint:gosec // n is a small positive count
}

// splitVars makes the variables of each part from the values' variables:
// the release's part (index 0) gets everything but the tokens, token part
// i+1 the tokens of part i, their adoptions and the settings every part
// needs. With no token parts the variables are the release's, unchanged.
func splitVars(tfvars []byte, parts int) ([][]byte, error) {
	if parts == 0 {
		return [][]byte{tfvars}, nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(tfvars, &all); err != nil {
		return nil, fmt.Errorf("terraform.tfvars.json: %w", err)
	}
	var tokens map[string]json.RawMessage
	if raw, ok := all["tokens"]; ok {
		if err := json.Unmarshal(raw, &tokens); err != nil {
			return nil, fmt.Errorf("terraform.tfvars.json: tokens: %w", err)
		}
	}
	var adopt adoptions
	if raw, ok := all["adopt"]; ok {
		if err := json.Unmarshal(raw, &adopt); err != nil {
			return nil, fmt.Errorf("terraform.tfvars.json: adopt: %w", err)
		}
	}
	out := make([][]byte, parts+1)
	for i := range out {
		v := map[string]any{}
		for k, raw := range all {
			v[k] = raw
		}
		a := splitAdopt(adopt, parts)[i]
		v["adopt"] = a
		if i == 0 {
			v["tokens"] = map[string]any{}
		} else {
			v["tenants"] = map[string]any{}
			v["access_policies"] = map[string]any{}
			mine := map[string]json.RawMessage{}
			for k, t := range tokens {
				if partOf(k, parts) == i-1 {
					mine[k] = t
				}
			}
			v["tokens"] = mine
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// splitAdopt gives each part the adoptions of what it holds; with no token
// parts, the release's part holds everything.
func splitAdopt(a adoptions, parts int) []adoptions {
	if parts == 0 {
		return []adoptions{a}
	}
	out := make([]adoptions, parts+1)
	out[0] = adoptions{Tenants: a.Tenants, AccessPolicies: a.AccessPolicies, Tokens: map[string]string{}}
	for i := 1; i <= parts; i++ {
		out[i] = adoptions{Tenants: []string{}, AccessPolicies: []string{}, Tokens: map[string]string{}}
	}
	for k, name := range a.Tokens {
		out[partOf(k, parts)+1].Tokens[k] = name
	}
	for i := range out {
		if out[i].Tenants == nil {
			out[i].Tenants = []string{}
		}
		if out[i].AccessPolicies == nil {
			out[i].AccessPolicies = []string{}
		}
	}
	return out
}

// crowdedParts names the token parts that would hold more than
// maxTokensPerPart tokens, with their counts; "" when none does.
func crowdedParts(tokenKeys []string, names []string) string {
	if len(names) == 0 {
		return ""
	}
	counts := make([]int, len(names))
	for _, k := range tokenKeys {
		counts[partOf(k, len(names))]++
	}
	var over []string
	for i, n := range counts {
		if n > maxTokensPerPart {
			over = append(over, fmt.Sprintf("%s (%d tokens)", names[i], n))
		}
	}
	return strings.Join(over, ", ")
}

// droppedParts lists the parts an earlier run used that the values no
// longer name: the state.parts was lowered, which would leave their
// tokens live and unmanaged.
func droppedParts(used, names []string) []string {
	var out []string
	for _, u := range used {
		if !slices.Contains(names, u) {
			out = append(out, u)
		}
	}
	return out
}

// mergeOutputs merges the parts' token_secrets outputs (the release's
// part first). Two may list one token while a move that stopped between
// its writes is not yet finished: the entry of the part its key belongs
// to counts.
func mergeOutputs(outs []map[string]TokenSecret) map[string]TokenSecret {
	all := map[string]TokenSecret{}
	for _, o := range outs {
		maps.Copy(all, o)
	}
	if n := len(outs) - 1; n > 0 {
		for k := range all {
			if v, ok := outs[partOf(k, n)+1][k]; ok {
				all[k] = v
			}
		}
	}
	return all
}
