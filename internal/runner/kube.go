package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// InClusterClient is the Kubernetes client of the Job's service account.
// The API server's own flow control paces a fleet's thousand Secret reads;
// client-go's default of 5 requests a second would make them take minutes.
func InClusterClient() (kubernetes.Interface, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("not running in a cluster with a service account token (the Job needs automountServiceAccountToken): %w", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	cfg.UserAgent = "tempo-tenancy-runner"
	return kubernetes.NewForConfig(cfg)
}

// kubeWorkers bounds the Kubernetes requests in flight at once.
const kubeWorkers = 16

// each runs f for 0..n-1 on kubeWorkers goroutines and returns the first
// error by index, so that what a run reports does not depend on timing.
func each(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	return eachOn(ctx, kubeWorkers, n, f)
}

// eachOn is each on workers goroutines.
func eachOn(ctx context.Context, workers, n int, f func(ctx context.Context, i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = f(ctx, i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			errs[i] = context.Cause(ctx)
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// apiError is a failed API call that reads as its apiMessage and still
// answers apierrors' questions (IsForbidden, IsNotFound).
type apiError struct{ err error }

func (e apiError) Error() string { return apiMessage(e.err) }
func (e apiError) Unwrap() error { return e.err }

// apiMessage is the API server's message of a failed call, or the error.
func apiMessage(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Message != "" {
		return fmt.Sprintf("HTTP %d: %s", st.Status().Code, st.Status().Message)
	}
	return err.Error()
}

// getSecrets reads the Secrets of targets; nil where one does not exist.
// forbiddenOK lets a Secret the runner may not read count as absent (the
// caller then has nothing of it to compare).
func getSecrets(ctx context.Context, kube kubernetes.Interface, ts []Target, forbiddenOK bool) ([]*corev1.Secret, error) {
	got := make([]*corev1.Secret, len(ts))
	err := each(ctx, len(ts), func(ctx context.Context, i int) error {
		s, err := kube.CoreV1().Secrets(ts[i].Namespace).Get(ctx, ts[i].Name, metav1.GetOptions{})
		switch {
		case err == nil:
			got[i] = s
		case apierrors.IsNotFound(err), forbiddenOK && apierrors.IsForbidden(err):
		default:
			return fmt.Errorf("reading secret %s: %s", ts[i].id(), apiMessage(err))
		}
		return nil
	})
	return got, err
}

// record is what the release keeps of its runs, in a ConfigMap of the
// state's namespace: the token Secrets it wrote, the consents to remove
// that runs have used, and the replaced tokens still to revoke.
type record struct {
	Secrets     []Target
	Consents    []usedConsent
	Revocations []pendingRevocation
	// SweepSince is when a run killed outright had started, until a later
	// run has revoked the tokens it may have left (see orphansOf).
	SweepSince string
	// StateParts are the token parts of the state that runs have written
	// to: a part the values no longer name may still hold tokens.
	StateParts []string
	// PartsSettled are the parts a run last found (or put) every token in
	// the part its key belongs to.
	PartsSettled []string
	// LeftLocks are state locks a stopped run left that the run taking
	// over could not free (the Role of its values does not grant them):
	// the lock's name, and the host of the run that holds it.
	LeftLocks map[string]string
}

// usedConsent is a removal a run made with the values' consent: the same
// consent does not remove the same object twice.
type usedConsent struct {
	Address string `json:"address"`
	Consent string `json:"consent"`
	At      string `json:"at"`
}

// used finds the use of consent on address, if any.
func (r record) used(address, consent string) (usedConsent, bool) {
	for _, u := range r.Consents {
		if u.Address == address && u.Consent == consent {
			return u, true
		}
	}
	return usedConsent{}, false
}

// readRecord reads the release's record. A release without one (not
// configured, or not written yet) has written nothing and used no consent.
func readRecord(ctx context.Context, kube kubernetes.Interface, c Config) (record, error) {
	var rec record
	if c.Record == "" || c.StateNamespace == "" {
		return rec, nil
	}
	cm, err := kube.CoreV1().ConfigMaps(c.StateNamespace).Get(ctx, c.Record, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("reading the record %s/%s: %s", c.StateNamespace, c.Record, apiMessage(err))
	}
	if raw := cm.Data[recordKey]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &rec.Secrets); err != nil {
			return rec, fmt.Errorf("the record %s/%s is not a list of Secrets (%w): restore it, or delete it if no token Secret is left to remove", c.StateNamespace, c.Record, err)
		}
	}
	if raw := cm.Data[consentsKey]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &rec.Consents); err != nil {
			return rec, fmt.Errorf("the record %s/%s has unreadable %s (%w): restore it", c.StateNamespace, c.Record, consentsKey, err)
		}
	}
	rec.SweepSince = cm.Data[sweepKey]
	if raw := cm.Data[revocationsKey]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &rec.Revocations); err != nil {
			return rec, fmt.Errorf("the record %s/%s has unreadable %s (%w): restore it", c.StateNamespace, c.Record, revocationsKey, err)
		}
	}
	if raw := cm.Data[statePartsKey]; raw != "" {
		var parts struct {
			Used      []string          `json:"used"`
			Settled   []string          `json:"settled"`
			LeftLocks map[string]string `json:"leftLocks"`
		}
		if err := json.Unmarshal([]byte(raw), &parts); err != nil {
			return rec, fmt.Errorf("the record %s/%s has unreadable %s (%w): restore it", c.StateNamespace, c.Record, statePartsKey, err)
		}
		rec.StateParts, rec.PartsSettled = parts.Used, parts.Settled
		if len(parts.LeftLocks) > 0 {
			rec.LeftLocks = parts.LeftLocks
		}
	}
	rec.Secrets = mergeTargets(rec.Secrets)
	return rec, nil
}

// writeRecord replaces the record. Its Secrets lose an entry only once that
// Secret is gone, so that a run that fails between the apply and the
// removal, or a rollback, does not forget a Secret whose token is gone.
func writeRecord(ctx context.Context, kube kubernetes.Interface, c Config, rec record) error {
	if c.Record == "" || c.StateNamespace == "" {
		return nil
	}
	secrets, err := json.Marshal(mergeTargets(rec.Secrets))
	if err != nil {
		return err
	}
	consents := rec.Consents
	if consents == nil {
		consents = []usedConsent{}
	}
	used, err := json.Marshal(consents)
	if err != nil {
		return err
	}
	pending := rec.Revocations
	if pending == nil {
		pending = []pendingRevocation{}
	}
	revocations, err := json.Marshal(pending)
	if err != nil {
		return err
	}
	parts := map[string]any{"used": nonNil(rec.StateParts), "settled": nonNil(rec.PartsSettled)}
	if len(rec.LeftLocks) > 0 {
		parts["leftLocks"] = rec.LeftLocks
	}
	stateParts, err := json.Marshal(parts)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"namespace": c.StateNamespace, "name": c.Record,
			"labels": map[string]string{labelManagedBy: "tempo-tenancy"}},
		"data": map[string]string{recordKey: string(secrets), consentsKey: string(used), revocationsKey: string(revocations), sweepKey: rec.SweepSince, statePartsKey: string(stateParts)},
	})
	if err != nil {
		return err
	}
	if _, err := kube.CoreV1().ConfigMaps(c.StateNamespace).Patch(ctx, c.Record, types.ApplyPatchType, body, applyOptions()); err != nil {
		return fmt.Errorf("writing the record %s/%s: %s", c.StateNamespace, c.Record, apiMessage(err))
	}
	return nil
}

func applyOptions() metav1.PatchOptions {
	force := true
	return metav1.PatchOptions{FieldManager: fieldManager, Force: &force}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
