package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Refusal is a run stopped because the values ask for what is not allowed (a
// removal not consented to, a Secret of someone else). A retry would only
// refuse again: the Job's podFailurePolicy fails it at once on its exit
// status.
type Refusal struct{ Msg string }

func (r *Refusal) Error() string { return r.Msg }

// secretsPhase keeps the token Secrets true to the state after an apply.
type secretsPhase struct {
	cfg  Config
	kube kubernetes.Interface
	say  func(format string, args ...any)
}

// checkNoForeign stops a run before it plans when a Secret the values name
// exists and is not the release's: otherwise the apply would create a token
// whose secret has nowhere to go, or write into that Secret on a rotation.
func (p secretsPhase) checkNoForeign(ctx context.Context, named, known []Target) error {
	if p.cfg.AdoptSecrets || len(named) == 0 {
		return nil
	}
	got, err := getSecrets(ctx, p.kube, named, false)
	if err != nil {
		return err
	}
	o := newOwnership(p.cfg, known)
	var foreign []string
	for _, s := range got {
		if s != nil && !o.owns(s) {
			foreign = append(foreign, describeForeign(s))
		}
	}
	if len(foreign) > 0 {
		return &Refusal{Msg: "these Secrets exist and were not written by this release:\n" + strings.Join(foreign, "\n") +
			"\nnothing was planned or applied: no token was created and no Secret written. Choose other secret names, or, to let this release take them over, set runner.adoptExistingSecrets: true"}
	}
	return nil
}

// write makes every token Secret hold its tokens' secrets. All are read
// first; only those that differ are written, with server-side apply
// (created when missing, updated after a rotation or a change by hand), so
// a run with nothing to change writes nothing however many there are. It
// returns how many Secrets were written.
func (p secretsPhase) write(ctx context.Context, want []desiredSecret, known []Target) (int, error) {
	targets := make([]Target, len(want))
	for i, d := range want {
		targets[i] = d.Target
	}
	// A Secret the runner may not read is written blind: apply tells.
	got, err := getSecrets(ctx, p.kube, targets, true)
	if err != nil {
		return 0, err
	}
	o := newOwnership(p.cfg, known)
	var foreign []string
	var todo []int
	for i, s := range got {
		switch {
		case s != nil && !o.owns(s) && !p.cfg.AdoptSecrets:
			foreign = append(foreign, describeForeign(s))
		case s != nil && want[i].upToDate(s):
		default:
			todo = append(todo, i)
		}
	}
	if len(foreign) > 0 {
		return 0, &Refusal{Msg: "these Secrets exist and were not written by this release:\n" + strings.Join(foreign, "\n") +
			"\nno token Secret was written. Choose other secret names, or, to let this release take them over, set runner.adoptExistingSecrets: true"}
	}
	err = each(ctx, len(todo), func(ctx context.Context, j int) error {
		d := want[todo[j]]
		body, err := d.applyBody(got[todo[j]], o)
		if err != nil {
			return err
		}
		if _, err := p.kube.CoreV1().Secrets(d.Namespace).Patch(ctx, d.Name, types.ApplyPatchType, body, applyOptions()); err != nil {
			return fmt.Errorf("writing secret %s: %s", d.id(), apiMessage(err))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, i := range todo {
		p.say("secret %s: token %s", want[i].id(), joinKeys(want[i].tokens))
	}
	return len(todo), nil
}

// remove takes away what tokens no longer declared leave behind: their keys,
// and their Secret when nothing else is in it and the release created it.
// Only the release's Secrets are touched, and one changed by someone else
// meanwhile is not. It returns the Secrets the runner may not touch (the
// chart grants only those its values name), which stay in the record.
func (p secretsPhase) remove(ctx context.Context, rs []removal, known []Target) ([]Target, error) {
	o := newOwnership(p.cfg, known)
	var pending []Target
	keep := func(r removal, why string) {
		p.say("WARNING: secret %s: %s; it stays listed for removal: name it under runner.allowRemovals.secrets ({namespace: %s, name: %s}) in the next upgrade, or delete it by hand",
			r.id(), why, r.Namespace, r.Name)
		pending = append(pending, Target{Namespace: r.Namespace, Name: r.Name, Keys: r.gone})
	}
	// One at a time: removals are few, and each line says what happened.
	for _, r := range rs {
		secrets := p.kube.CoreV1().Secrets(r.Namespace)
		s, err := secrets.Get(ctx, r.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			continue
		case apierrors.IsForbidden(err):
			keep(r, "not readable by the runner (HTTP 403)")
			continue
		case err != nil:
			return nil, fmt.Errorf("reading secret %s: %s", r.id(), apiMessage(err))
		}
		if !o.owns(s) {
			p.say("secret %s: not written by this release; left as it is", r.id())
			continue
		}
		rv := s.ResourceVersion
		if r.whole && r.othersKeys(s) == 0 && o.created(s) {
			err := secrets.Delete(ctx, r.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
			switch {
			case err == nil, apierrors.IsNotFound(err):
				p.say("secret %s: removed (its tokens are gone)", r.id())
			case apierrors.IsForbidden(err):
				keep(r, "not removable by the runner (HTTP 403)")
			case apierrors.IsConflict(err):
				return nil, fmt.Errorf("secret %s changed while it was being removed; run again", r.id())
			default:
				return nil, fmt.Errorf("removing secret %s: %s", r.id(), apiMessage(err))
			}
			continue
		}
		if len(r.gone) == 0 {
			continue
		}
		data := map[string]any{}
		for _, k := range r.gone {
			data[k] = nil
		}
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": rv}, "data": data})
		if err != nil {
			return nil, err
		}
		_, err = secrets.Patch(ctx, r.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager})
		switch {
		case err == nil:
			p.say("secret %s: keys %s removed (their tokens are gone)", r.id(), joinKeys(r.gone))
		case apierrors.IsForbidden(err):
			keep(r, "keys not removable by the runner (HTTP 403)")
		case apierrors.IsConflict(err):
			return nil, fmt.Errorf("secret %s changed while keys were being removed; run again", r.id())
		default:
			return nil, fmt.Errorf("removing keys from secret %s: %s", r.id(), apiMessage(err))
		}
	}
	return pending, nil
}

// writeRotated is the write-secret mode's work: when a token replaces one
// that an existing Secret holds (a rotation), the new secret goes there at
// once. A Secret that does not exist yet, or holds no other token under the
// key, is left to the write after the apply: nobody is using it yet. It
// reports whether it wrote, so that the caller waits the overlap.
func (p secretsPhase) writeRotated(ctx context.Context, t Target, key, secret string) (bool, error) {
	s, err := p.kube.CoreV1().Secrets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading secret %s: %s", t.id(), apiMessage(err))
	}
	// The run checked every token Secret before planning; one made by
	// someone else since then is still not this release's to write.
	if !p.cfg.AdoptSecrets {
		rec, err := readRecord(ctx, p.kube, p.cfg)
		if err != nil {
			return false, err
		}
		if !newOwnership(p.cfg, rec.Secrets).owns(s) {
			return false, fmt.Errorf("secret %s exists and was not written by this release; nothing was written into it. Choose another secret name, or set runner.adoptExistingSecrets: true to take it over", t.id())
		}
	}
	current := s.Data[key]
	if len(current) == 0 || string(current) == secret {
		return false, nil
	}
	patch, err := json.Marshal(map[string]any{"data": map[string][]byte{key: []byte(secret)}})
	if err != nil {
		return false, err
	}
	if _, err := p.kube.CoreV1().Secrets(t.Namespace).Patch(ctx, t.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager}); err != nil {
		return false, fmt.Errorf("writing the rotated token into secret %s: %s", t.id(), apiMessage(err))
	}
	return true, nil
}

// secretsNamed lists the Secrets the values' tokens name, read from the
// module's variables file.
func secretsNamed(tfvars []byte) ([]Target, error) {
	vars, err := parseVars(tfvars)
	if err != nil {
		return nil, err
	}
	var ts []Target
	for _, t := range vars.Tokens {
		if t.Secret != nil {
			ts = append(ts, Target{Namespace: t.Secret.Namespace, Name: t.Secret.Name})
		}
	}
	return mergeTargets(ts), nil
}
