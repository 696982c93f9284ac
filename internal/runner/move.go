package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
)

// Tokens change parts when state.parts changes (a single state split, or
// more parts): the runner moves each one's objects, secret included, from
// the state that holds it to the one its key now belongs to, so that no
// token is replaced or revoked for it. The states are read with state
// pull and written with state push (the CLI decrypts and encrypts them);
// the target is written before the source, so a run stopped in between
// leaves a token in two states, never in none, and the next run drops the
// copy.

// tokenResource is the module's token resource, whose instances move.
const (
	tokenType = "tempo_token"
	tokenName = "this"
)

// tfState is a state file (version 4), kept as read but for its
// resources' instances.
type tfState map[string]any

func parseState(raw string) (tfState, error) {
	if len(bytes.TrimSpace([]byte(raw))) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader([]byte(raw)))
	d.UseNumber()
	var s tfState
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("reading the state: %w", err)
	}
	if v := fmt.Sprint(s["version"]); v != "4" {
		return nil, fmt.Errorf("the state has format version %s, not 4", v)
	}
	return s, nil
}

// newState is an empty state for a part that has none yet, written by
// version of the CLI.
func newState(version string) (tfState, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	lineage := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	return tfState{"version": json.Number("4"), "terraform_version": version, "serial": json.Number("0"),
		"lineage": lineage, "outputs": map[string]any{}, "resources": []any{}}, nil
}

func (s tfState) resources() []any {
	rs, _ := s["resources"].([]any)
	return rs
}

// tokenRes is the state's entry of the module's token resource, or nil.
func (s tfState) tokenRes() map[string]any {
	for _, r := range s.resources() {
		m, _ := r.(map[string]any)
		if m["mode"] == "managed" && m["type"] == tokenType && m["name"] == tokenName && m["module"] == nil {
			return m
		}
	}
	return nil
}

func instancesOf(res map[string]any) []any {
	is, _ := res["instances"].([]any)
	return is
}

func indexKey(inst any) (key string, deposed bool) {
	m, _ := inst.(map[string]any)
	k, _ := m["index_key"].(string)
	_, deposed = m["deposed"]
	return k, deposed
}

// tokens maps the key of each token the state holds (its current object)
// to the token's name.
func (s tfState) tokens() map[string]string {
	out := map[string]string{}
	res := s.tokenRes()
	for _, inst := range instancesOf(res) {
		k, deposed := indexKey(inst)
		if k == "" || deposed {
			continue
		}
		attrs, _ := inst.(map[string]any)["attributes"].(map[string]any)
		name, _ := attrs["name"].(string)
		out[k] = name
	}
	return out
}

// take removes the objects (current and deposed) of the token keys from
// the state and returns them.
func (s tfState) take(keys []string) []any {
	res := s.tokenRes()
	if res == nil {
		return nil
	}
	var kept, taken []any
	for _, inst := range instancesOf(res) {
		if k, _ := indexKey(inst); slices.Contains(keys, k) {
			taken = append(taken, inst)
		} else {
			kept = append(kept, inst)
		}
	}
	if kept == nil {
		kept = []any{}
	}
	res["instances"] = kept
	return taken
}

// put adds token objects to the state, under the token resource, which it
// makes (like from's) when the state lacks it.
func (s tfState) put(objs []any, from tfState) {
	res := s.tokenRes()
	if res == nil {
		res = map[string]any{}
		for k, v := range from.tokenRes() {
			if k != "instances" {
				res[k] = v
			}
		}
		s["resources"] = append(s.resources(), res)
	}
	res["instances"] = append(instancesOf(res), objs...)
}

// bump raises the serial, so that the pushed state is the newer one.
func (s tfState) bump() error {
	n, err := json.Number(fmt.Sprint(s["serial"])).Int64()
	if err != nil {
		return fmt.Errorf("the state's serial: %w", err)
	}
	s["serial"] = json.Number(fmt.Sprint(n + 1))
	return nil
}

// tokenMove is one token's objects going from one part to another, or, for
// a copy a stopped move left behind, out of a part only (to < 0).
type tokenMove struct {
	key      string
	from, to int
}

// planMoves decides the moves that put every declared token in its part.
// held is each part's tokens (key to name); want gives a declared key's
// part, or -1 for a key the values no longer declare, which stays where it
// is for its part's plan to remove. A token held twice (a stopped move) is
// dropped from the part it does not belong to; two different tokens under
// one key cannot be told apart, and are an error.
func planMoves(held []map[string]string, want func(key string) int) ([]tokenMove, error) {
	where := map[string][]int{}
	for i, h := range held {
		for k := range h {
			where[k] = append(where[k], i)
		}
	}
	keys := make([]string, 0, len(where))
	for k := range where {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var moves []tokenMove
	for _, k := range keys {
		parts, to := where[k], want(k)
		if to < 0 || (len(parts) == 1 && parts[0] == to) {
			continue
		}
		name := held[parts[0]][k]
		for _, p := range parts[1:] {
			if held[p][k] != name {
				return nil, fmt.Errorf("tokens[%q]: two state parts hold different tokens under this key (%s and %s); remove the one its Secret does not hold from its state, with tofu state rm", k, name, held[p][k])
			}
		}
		target := to
		if slices.Contains(parts, to) {
			target = -1 // there already: the other copies go
		}
		for _, p := range parts {
			if p == to {
				continue
			}
			moves = append(moves, tokenMove{key: k, from: p, to: target})
			target = -1 // moved once; any further copy goes
		}
	}
	return moves, nil
}

// rebalance moves each declared token to the state part its key belongs
// to, and returns how many moves that takes; with check it only counts
// them. A single state has nothing to move.
func (r *Runner) rebalance(parts []*part, tfPath string, vars moduleVars, check bool,
	onParts func([]*part, func(context.Context, *part) error) error) (int, error) {
	if len(parts) == 1 {
		return 0, nil
	}
	raws := make([]string, len(parts))
	pull := func(ctx context.Context, p *part) error {
		raw, err := p.statePull(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return interrupted(ctx)
			}
			return fmt.Errorf("reading the state of part %s: %w", p.name, err)
		}
		raws[p.index] = raw
		return nil
	}
	if err := onParts(parts, pull); err != nil {
		return 0, err
	}
	states := make([]tfState, len(parts))
	sources := make([]tfState, len(parts))
	held := make([]map[string]string, len(parts))
	for i, raw := range raws {
		var err error
		if states[i], err = parseState(raw); err != nil {
			return 0, fmt.Errorf("the state of part %s: %w", parts[i].name, err)
		}
		sources[i], _ = parseState(raw)
		held[i] = map[string]string{}
		if states[i] != nil {
			held[i] = states[i].tokens()
		}
	}
	n := len(parts) - 1
	moves, err := planMoves(held, func(k string) int {
		if _, ok := vars.Tokens[k]; !ok {
			return -1
		}
		return partOf(k, n) + 1
	})
	if err != nil || len(moves) == 0 || check {
		return len(moves), err
	}
	r.say("%d tokens to move to the state part their key belongs to (state.parts changed): the parts they go to are written first", len(moves))
	gained := map[int]bool{}
	lost := map[int][]string{}
	for _, m := range moves {
		lost[m.from] = append(lost[m.from], m.key)
		if m.to < 0 {
			continue
		}
		if states[m.to] == nil {
			if states[m.to], err = newState(fmt.Sprint(sources[m.from]["terraform_version"])); err != nil {
				return 0, err
			}
		}
		states[m.to].put(sources[m.from].take([]string{m.key}), sources[m.from])
		gained[m.to] = true
	}
	var to, from []*part
	for _, p := range parts {
		if gained[p.index] {
			to = append(to, p)
		}
		if len(lost[p.index]) > 0 {
			from = append(from, p)
		}
	}
	push := func(ctx context.Context, p *part, s tfState) error {
		if err := s.bump(); err != nil {
			return err
		}
		return p.statePush(ctx, tfPath, r.Cfg.LockTimeout, s)
	}
	if err := onParts(to, func(ctx context.Context, p *part) error { return push(ctx, p, states[p.index]) }); err != nil {
		return 0, err
	}
	// Then the parts they left, read again: the push above may have
	// written one of them.
	if err := onParts(from, pull); err != nil {
		return 0, err
	}
	if err := onParts(from, func(ctx context.Context, p *part) error {
		s, err := parseState(raws[p.index])
		if err != nil || s == nil {
			return fmt.Errorf("the state of part %s, read again: %w", p.name, err)
		}
		s.take(lost[p.index])
		return push(ctx, p, s)
	}); err != nil {
		return 0, err
	}
	return len(moves), nil
}
