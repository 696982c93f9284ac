package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
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

// tokenObjs is what a state holds of some tokens: their resource's objects
// (current and deposed) and their entries in the token_secrets output, with
// the entries' types, so that the output keeps listing a token in whichever
// state holds it.
type tokenObjs struct {
	instances         []any
	outputs, outTypes map[string]any
}

// tokenOutput is the state's token_secrets output, its value and, for an
// object, its attributes' types; nils where the state lacks them.
func (s tfState) tokenOutput() (out, values, types map[string]any) {
	outs, _ := s["outputs"].(map[string]any)
	out, _ = outs[tokenSecretsOutput].(map[string]any)
	values, _ = out["value"].(map[string]any)
	if typ, _ := out["type"].([]any); len(typ) == 2 && typ[0] == "object" {
		types, _ = typ[1].(map[string]any)
	}
	return out, values, types
}

// take removes the token keys from the state and returns what it held of
// them.
func (s tfState) take(keys []string) tokenObjs {
	objs := tokenObjs{outputs: map[string]any{}, outTypes: map[string]any{}}
	_, values, types := s.tokenOutput()
	for _, k := range keys {
		if v, ok := values[k]; ok {
			objs.outputs[k] = v
			delete(values, k)
		}
		if t, ok := types[k]; ok {
			objs.outTypes[k] = t
			delete(types, k)
		}
	}
	res := s.tokenRes()
	if res == nil {
		return objs
	}
	kept := []any{}
	for _, inst := range instancesOf(res) {
		if k, _ := indexKey(inst); slices.Contains(keys, k) {
			objs.instances = append(objs.instances, inst)
		} else {
			kept = append(kept, inst)
		}
	}
	res["instances"] = kept
	return objs
}

// drop removes the token keys from the state.
func (s tfState) drop(keys []string) { s.take(keys) }

// put adds what another state held of some tokens, taken from it: their
// objects go under the token resource, made like from's when the state
// lacks it, and their entries into the token_secrets output, made like
// from's (sensitive) when the state lacks it.
func (s tfState) put(objs tokenObjs, from tfState) {
	if len(objs.instances) > 0 {
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
		res["instances"] = append(instancesOf(res), objs.instances...)
	}
	if len(objs.outputs) == 0 {
		return
	}
	out, values, types := s.tokenOutput()
	if out == nil {
		out = map[string]any{"sensitive": true}
		typ := []any{"object", map[string]any{}}
		if fromOut, _, _ := from.tokenOutput(); fromOut != nil {
			if ft, _ := fromOut["type"].([]any); len(ft) == 2 && ft[0] != "object" {
				typ = ft // a map's type does not list its keys
			}
		}
		out["type"] = typ
		outs, _ := s["outputs"].(map[string]any)
		if outs == nil {
			outs = map[string]any{}
			s["outputs"] = outs
		}
		outs[tokenSecretsOutput] = out
		_, values, types = s.tokenOutput()
	}
	if values == nil {
		values = map[string]any{}
		out["value"] = values
	}
	maps.Copy(values, objs.outputs)
	if types != nil {
		maps.Copy(types, objs.outTypes)
	}
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
// a copy a stopped move left behind (copy), out of a part only: part to
// holds the token already.
type tokenMove struct {
	key      string
	from, to int
	copy     bool
}

// planMoves decides the moves that put every token in its part. held is
// each part's tokens (key to name), names the parts' names; want gives a
// key's part. A token held twice (a stopped move) is dropped from the part
// it does not belong to; two different tokens under one key cannot be told
// apart, and are an error.
func planMoves(held []map[string]string, names []string, want func(key string) int) ([]tokenMove, error) {
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
		if len(parts) == 1 && parts[0] == to {
			continue
		}
		name := held[parts[0]][k]
		for _, p := range parts[1:] {
			if held[p][k] != name {
				return nil, fmt.Errorf("tokens[%q]: state parts %s and %s hold different tokens under this key (%s and %s): nothing was moved. Find the one the token's Secret does not hold, revoke it on the admin API (both are live: taken out of a state alone it would stay live, unmanaged), take it out of its part's state (state rm 'tempo_token.this[%q]'), then run again",
					k, names[parts[0]], names[p], name, held[p][k], k)
			}
		}
		there := slices.Contains(parts, to) // then the other copies go
		for _, p := range parts {
			if p == to {
				continue
			}
			moves = append(moves, tokenMove{key: k, from: p, to: to, copy: there})
			there = true // moved once; any further copy goes
		}
	}
	return moves, nil
}

// movesFor plans the moves that put the tokens held (one map per part, the
// release's first) in the token part their key belongs to: those the
// values no longer declare too, for that part's plan to remove, so that
// once moved every token is where its key puts it.
func movesFor(held []map[string]string, names []string) ([]tokenMove, error) {
	n := len(held) - 1
	return planMoves(held, names, func(k string) int { return partOf(k, n) + 1 })
}

// moveTokens carries the moves out on the states read: each token's objects
// go from sources[from] into states[to] (made for a part that has no state
// yet). states and sources are two readings of the same states, so that a
// part that both gains and loses tokens is first written with its gains
// only. It returns the parts that gained tokens and the keys each part
// loses.
func moveTokens(states, sources []tfState, moves []tokenMove) (map[int]bool, map[int][]string, error) {
	gained := map[int]bool{}
	lost := map[int][]string{}
	for _, m := range moves {
		lost[m.from] = append(lost[m.from], m.key)
		objs := sources[m.from].take([]string{m.key})
		if m.copy {
			// Part to holds the token: of the copy only an output entry
			// it lacks goes there.
			objs.instances = nil
			if _, values, _ := states[m.to].tokenOutput(); values[m.key] != nil {
				continue
			}
			if len(objs.outputs) == 0 {
				continue
			}
		}
		if states[m.to] == nil {
			var err error
			if states[m.to], err = newState(fmt.Sprint(sources[m.from]["terraform_version"])); err != nil {
				return nil, nil, err
			}
		}
		states[m.to].put(objs, sources[m.from])
		gained[m.to] = true
	}
	return gained, lost, nil
}

// rebalance moves each token to the state part its key belongs to, and
// returns how many moves that takes; with check it only counts them. A
// single state has nothing to move.
func (r *Runner) rebalance(parts []*part, tfPath string, check bool,
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
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = p.name
	}
	moves, err := movesFor(held, names)
	if err != nil || len(moves) == 0 || check {
		return len(moves), err
	}
	r.say("%d tokens to move to the state part their key belongs to (state.parts changed): the parts they go to are written first", len(moves))
	gained, lost, err := moveTokens(states, sources, moves)
	if err != nil {
		return 0, err
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
		if err := p.statePush(ctx, tfPath, r.Cfg.LockTimeout, s); err != nil {
			return fmt.Errorf("%w\nrun again: a token is in its old part, its new one, or both, and the next run finishes the move", err)
		}
		return nil
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
		if err != nil {
			return fmt.Errorf("the state of part %s, read again: %w", p.name, err)
		}
		if s == nil {
			return fmt.Errorf("the state of part %s is empty when read again, yet it held tokens: it was removed during the move. The tokens moved out are safe in their new parts, but the tokens it kept are now in no state: restore its Secret from a backup, or recover them by adoption (runner.adoptExisting), then run again", p.name)
		}
		s.drop(lost[p.index])
		return push(ctx, p, s)
	}); err != nil {
		return 0, err
	}
	return len(moves), nil
}
