package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// restartsFile is the chart's list of workloads to restart when the token
// in a Secret key they read changes, beside the module in the ConfigMap.
const restartsFile = "restarts.json"

// annotationRestartedAt is what a restart sets on a workload's pod
// template, as kubectl rollout restart sets its own.
const annotationRestartedAt = "tempo-tenancy/restarted-at"

// workloadRestart is a workload that reads a token once (an environment
// variable, a file read at start) and must be restarted to take a new one.
type workloadRestart struct {
	Namespace string `json:"namespace"`
	Secret    string `json:"secret"`
	Key       string `json:"key"`
	Kind      string `json:"kind"` // Deployment, StatefulSet or DaemonSet
	Name      string `json:"name"`
}

func (w workloadRestart) id() string { return w.Kind + " " + w.Namespace + "/" + w.Name }

// readRestarts reads the chart's list; a ConfigMap without one lists none.
func readRestarts(configDir string) ([]workloadRestart, error) {
	b, err := os.ReadFile(filepath.Join(configDir, restartsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []workloadRestart
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", restartsFile, err)
	}
	return out, nil
}

// changedKeys lists the Secret keys whose token this run replaced: keys a
// token was written to before the run and that now hold another.
func changedKeys(before, after map[string]TokenSecret) map[secretKey]bool {
	was := map[secretKey]string{}
	for _, t := range before {
		was[secretKey{t.Namespace, t.Name, t.Key}] = t.TokenName
	}
	out := map[secretKey]bool{}
	for _, t := range after {
		k := secretKey{t.Namespace, t.Name, t.Key}
		if old, ok := was[k]; ok && old != t.TokenName {
			out[k] = true
		}
	}
	return out
}

// restartWorkloads restarts, once each, the workloads that read a Secret
// key whose token changed, while the token they hold still works (before
// the overlap ends). A workload that cannot be restarted is a warning, in
// the log and as an Event: it picks up the new token at its next restart.
// It returns how many it restarted.
func (r *Runner) restartWorkloads(ctx context.Context, restarts []workloadRestart, changed map[secretKey]bool) int {
	todo := map[string]workloadRestart{}
	for _, w := range restarts {
		if changed[secretKey{w.Namespace, w.Secret, w.Key}] {
			todo[w.id()] = w
		}
	}
	ids := make([]string, 0, len(todo))
	for id := range todo {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{annotationRestartedAt: r.Now().UTC().Format(time.RFC3339)}}}}})
	if err != nil {
		return 0
	}
	restarted := 0
	for _, id := range ids {
		w := todo[id]
		opts := metav1.PatchOptions{FieldManager: fieldManager}
		apps := r.Kube.AppsV1()
		switch w.Kind {
		case "Deployment":
			_, err = apps.Deployments(w.Namespace).Patch(ctx, w.Name, types.MergePatchType, patch, opts)
		case "StatefulSet":
			_, err = apps.StatefulSets(w.Namespace).Patch(ctx, w.Name, types.MergePatchType, patch, opts)
		case "DaemonSet":
			_, err = apps.DaemonSets(w.Namespace).Patch(ctx, w.Name, types.MergePatchType, patch, opts)
		default:
			err = fmt.Errorf("kind %q is not one the runner restarts (Deployment, StatefulSet, DaemonSet)", w.Kind)
		}
		if err != nil {
			r.say("WARNING: %s reads a rotated token and could not be restarted: %s; it takes the new token at its next restart", id, apiMessage(err))
			r.event(ctx, corev1.EventTypeWarning, ReasonRestartFailed, "%s reads a rotated token and could not be restarted: %s", id, apiMessage(err))
			continue
		}
		r.say("%s restarted: a token it reads was replaced", id)
		restarted++
	}
	return restarted
}
