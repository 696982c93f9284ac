package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The reasons of the Events a run reports, for alerts and kubectl.
const (
	ReasonSucceeded = "RunSucceeded"  // Normal: what the run changed, or nothing
	ReasonRotated   = "TokensRotated" // Normal: tokens replaced and revoked after the overlap
	ReasonRepaired  = "DriftRepaired" // Normal: a scheduled run brought the admin API back to the values
	ReasonDrift     = "DriftFound"    // Warning: plan mode found changes to make
	ReasonRefused   = "RunRefused"    // Warning: the values ask for what is not allowed
	ReasonFailed    = "RunFailed"     // Warning: any other failure

	ReasonRestartFailed = "RestartFailed" // Warning: a workload reading a rotated token could not be restarted
)

// report is what a run did, for its Events.
type report struct {
	create, update, rotate int
	held                   int
	adopted                int
	revoked                int
	written                int
	restarted              int
}

// count adds a plan's changes to the module's objects to the report.
func (rep *report) count(p *tfjson.Plan) {
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode || !strings.HasPrefix(rc.Type, "tempo_") || rc.DeposedKey != "" ||
			rc.Change.Importing != nil {
			continue
		}
		switch a := rc.Change.Actions; {
		case a.Replace() && rc.Type == "tempo_token":
			rep.rotate++
		case a.Create():
			rep.create++
		case a.Update():
			rep.update++
		}
	}
}

func (rep report) String() string {
	return fmt.Sprintf("%d adopted, %d created, %d updated, %d tokens rotated (%d replaced tokens revoked), %d token Secrets written, %d workloads restarted",
		rep.adopted, rep.create, rep.update, rep.rotate, rep.revoked, rep.written, rep.restarted)
}

// report sends the Event that sums up a run.
func (r *Runner) report(ctx context.Context, mode Mode, rep report, err error) {
	var refusal *Refusal
	var drift *Drift
	switch {
	case errors.As(err, &drift):
		r.event(ctx, corev1.EventTypeWarning, ReasonDrift, "%s: %s", mode, drift.Error())
	case errors.As(err, &refusal):
		r.event(ctx, corev1.EventTypeWarning, ReasonRefused, "%s: %s", mode, err.Error())
	case err != nil:
		r.event(ctx, corev1.EventTypeWarning, ReasonFailed, "%s: %s", mode, err.Error())
	default:
		if rep.rotate > 0 || rep.revoked > 0 || rep.held > 0 {
			r.event(ctx, corev1.EventTypeNormal, ReasonRotated, "%s: %d tokens rotated, %d replaced tokens revoked after the overlap, %d due rotations held for a later run (runner.maxRotationsPerRun)",
				mode, rep.rotate, rep.revoked, rep.held)
		}
		if mode == ModeReconcile && rep.create+rep.update > 0 {
			r.event(ctx, corev1.EventTypeNormal, ReasonRepaired, "%s: the admin API had drifted from the values: %d created, %d updated", mode, rep.create, rep.update)
		}
		r.event(ctx, corev1.EventTypeNormal, ReasonSucceeded, "%s: %s", mode, rep)
	}
}

// Drift is what plan mode finds when the plan has changes: the admin API,
// or the token Secrets' state, differs from the values.
type Drift struct{ Msg string }

func (d *Drift) Error() string { return d.Msg }

// event records one Event on the run's Job or CronJob. An Event that
// cannot be recorded is said in the log and never fails the run.
func (r *Runner) event(ctx context.Context, typ, reason, format string, args ...any) {
	kind, name, ok := strings.Cut(r.Cfg.EventObject, "/")
	if !ok || r.Kube == nil || r.Cfg.ReleaseNamespace == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	msg := fmt.Sprintf(format, args...)
	if len(msg) > 1024 {
		msg = msg[:1021] + "..."
	}
	ns := r.Cfg.ReleaseNamespace
	// The object's UID lets kubectl describe show the Event; without it
	// (not readable), kubectl get events still does.
	var uid types.UID
	switch kind {
	case "Job":
		if j, err := r.Kube.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			uid = j.UID
		}
	case "CronJob":
		if j, err := r.Kube.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			uid = j.UID
		}
	}
	now := metav1.NewTime(r.Now())
	e := &corev1.Event{
		// Named as client-go's recorder names them.
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", name, r.Now().UnixNano()), Namespace: ns},
		InvolvedObject: corev1.ObjectReference{APIVersion: "batch/v1", Kind: kind, Name: name, Namespace: ns, UID: uid},
		Reason:         reason,
		Message:        msg,
		Type:           typ,
		Source:         corev1.EventSource{Component: "tempo-tenancy-runner"},
		FirstTimestamp: now,
		LastTimestamp:  now,
		Count:          1,
	}
	if _, err := r.Kube.CoreV1().Events(ns).Create(ctx, e, metav1.CreateOptions{}); err != nil {
		r.say("WARNING: the Event %s (%s) could not be recorded: %s", reason, msg, apiMessage(err))
	}
}
