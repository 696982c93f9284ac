package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The marks the runner puts on what it writes.
const (
	fieldManager       = "tempo-tenancy"
	labelManagedBy     = "app.kubernetes.io/managed-by"
	labelRelease       = "tempo-tenancy/release"
	labelReleaseNS     = "tempo-tenancy/release-namespace"
	annotationCreator  = "tempo-tenancy/created-by"
	recordKey          = "token-secrets.json"
	consentsKey        = "consents.json"
	revocationsKey     = "revocations.json"
	sweepKey           = "sweep-since"
	statePartsKey      = "state-parts.json"
	tokenSecretsOutput = "token_secrets"
)

// Target is one token Secret and the keys of it that the release writes. The
// record lists targets in this shape.
type Target struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Keys      []string `json:"keys"`
}

func (t Target) id() string { return t.Namespace + "/" + t.Name }

// mergeTargets joins lists of targets: one per Secret, with every key any of
// them names, sorted.
func mergeTargets(lists ...[]Target) []Target {
	byID := map[string]*Target{}
	for _, l := range lists {
		for _, t := range l {
			m, ok := byID[t.id()]
			if !ok {
				m = &Target{Namespace: t.Namespace, Name: t.Name, Keys: []string{}}
				byID[t.id()] = m
			}
			m.Keys = append(m.Keys, t.Keys...)
		}
	}
	out := make([]Target, 0, len(byID))
	for _, t := range byID {
		sort.Strings(t.Keys)
		t.Keys = slices.Compact(t.Keys)
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id() < out[j].id() })
	return out
}

// TokenSecret is one entry of the module's token_secrets output. Token is
// empty for a token whose secret the state does not know (an imported one).
type TokenSecret struct {
	Namespace string  `json:"namespace"`
	Name      string  `json:"name"`
	Key       string  `json:"key"`
	TokenName string  `json:"token_name"`
	Token     *string `json:"token"`
}

// parseTokenSecrets reads the output's value.
func parseTokenSecrets(raw json.RawMessage) (map[string]TokenSecret, error) {
	out := map[string]TokenSecret{}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return out, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("the %s output is not what the module writes: %w", tokenSecretsOutput, err)
	}
	return out, nil
}

// targetsOf groups output entries into targets, one per Secret.
func targetsOf(entries map[string]TokenSecret) []Target {
	var ts []Target
	for _, e := range entries {
		ts = append(ts, Target{Namespace: e.Namespace, Name: e.Name, Keys: []string{e.Key}})
	}
	return mergeTargets(ts)
}

// ownership decides whether a Secret read from the API is the release's.
type ownership struct {
	owner, release, releaseNS string
	// known holds the "namespace/name" of the Secrets the release's record
	// and state name: only there do the older marks, which named the
	// release alone, still count.
	known map[string]bool
}

func newOwnership(c Config, known []Target) ownership {
	o := ownership{owner: c.Owner(), release: c.Release, releaseNS: c.ReleaseNamespace, known: map[string]bool{}}
	for _, t := range known {
		o.known[t.id()] = true
	}
	return o
}

func (o ownership) owns(s *corev1.Secret) bool {
	created := s.Annotations[annotationCreator]
	labels := s.Labels
	if created == o.owner {
		return true
	}
	nsLabel, hasNS := labels[labelReleaseNS]
	if labels[labelRelease] == o.release && nsLabel == o.releaseNS {
		return true
	}
	legacy := created == o.release || (labels[labelRelease] == o.release && !hasNS)
	return legacy && o.known[s.Namespace+"/"+s.Name]
}

// created reports whether the release created the Secret (rather than
// adopted it): only such a Secret may be deleted whole.
func (o ownership) created(s *corev1.Secret) bool {
	c := s.Annotations[annotationCreator]
	return c != "" && (c == o.owner || c == o.release)
}

// describeForeign names a Secret that is someone else's, with the release
// label it carries, for a refusal.
func describeForeign(s *corev1.Secret) string {
	label := s.Labels[labelRelease]
	if label == "" {
		label = "no tempo-tenancy label"
	}
	return fmt.Sprintf("  %s/%s (%s)", s.Namespace, s.Name, label)
}

// desiredSecret is what one token Secret must hold.
type desiredSecret struct {
	Target
	labels map[string]string
	data   map[string][]byte
	tokens []string // token names, for the progress line
}

// desiredSecrets groups the output's entries with a known secret by Secret.
// It also returns the names of tokens without a known secret.
func desiredSecrets(c Config, entries map[string]TokenSecret) ([]desiredSecret, []string) {
	byID := map[string]*desiredSecret{}
	var missing []string
	for _, e := range entries {
		if e.Token == nil {
			missing = append(missing, e.TokenName)
			continue
		}
		id := e.Namespace + "/" + e.Name
		d, ok := byID[id]
		if !ok {
			d = &desiredSecret{Target: Target{Namespace: e.Namespace, Name: e.Name}, labels: releaseLabels(c), data: map[string][]byte{}}
			byID[id] = d
		}
		d.Keys = append(d.Keys, e.Key)
		d.data[e.Key] = []byte(*e.Token)
		d.tokens = append(d.tokens, e.TokenName)
	}
	out := make([]desiredSecret, 0, len(byID))
	for _, d := range byID {
		sort.Strings(d.Keys)
		sort.Strings(d.tokens)
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id() < out[j].id() })
	sort.Strings(missing)
	return out, missing
}

func releaseLabels(c Config) map[string]string {
	l := map[string]string{labelManagedBy: "tempo-tenancy", labelRelease: c.Release}
	if c.ReleaseNamespace != "" {
		l[labelReleaseNS] = c.ReleaseNamespace
	}
	return l
}

// upToDate reports whether a Secret already holds what it must: its keys
// and labels. Other keys are other writers' business.
func (d desiredSecret) upToDate(s *corev1.Secret) bool {
	for k, v := range d.data {
		if got, ok := s.Data[k]; !ok || !bytes.Equal(got, v) {
			return false
		}
	}
	for k, v := range d.labels {
		if s.Labels[k] != v {
			return false
		}
	}
	return true
}

// applyBody is the server-side apply of the Secret. A Secret the runner
// creates, or created before, is marked as created by the release, so that
// its removal may delete it whole; one it adopted is not.
func (d desiredSecret) applyBody(existing *corev1.Secret, o ownership) ([]byte, error) {
	meta := map[string]any{"namespace": d.Namespace, "name": d.Name, "labels": d.labels}
	if existing == nil || o.created(existing) {
		meta["annotations"] = map[string]string{annotationCreator: o.owner}
	}
	return json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata": meta,
		"data":     d.data, // []byte values encode as base64, as the API wants
	})
}

// removal is what a Secret of the record that the current tokens no longer
// fill needs: gone keys removed, or the Secret deleted when it was the
// release's whole.
type removal struct {
	Target
	whole bool     // no current token writes this Secret
	gone  []string // keys no current token writes
	kept  []string // keys current tokens write
}

func removals(previous, current []Target) []removal {
	cur := map[string]Target{}
	for _, t := range current {
		cur[t.id()] = t
	}
	var out []removal
	for _, p := range previous {
		c, ok := cur[p.id()]
		r := removal{Target: p, whole: !ok, kept: c.Keys}
		for _, k := range p.Keys {
			if !slices.Contains(c.Keys, k) {
				r.gone = append(r.gone, k)
			}
		}
		if r.whole || len(r.gone) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// othersKeys counts the keys of a Secret that are neither gone nor kept:
// those of other writers, which keep the Secret alive.
func (r removal) othersKeys(s *corev1.Secret) int {
	n := 0
	for k := range s.Data {
		if !slices.Contains(r.gone, k) && !slices.Contains(r.kept, k) {
			n++
		}
	}
	return n
}

func joinKeys(keys []string) string { return strings.Join(keys, ", ") }
