package runner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/testio"
)

// Each run sums itself up in Events on its CronJob (or Job), by reason.
func TestRunEvents(t *testing.T) {
	kube := fake.NewClientset(&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "tempo", Name: "tenancy-tempo-tenancy-reconcile", UID: "c0ffee"}})
	cfg := testCfg
	cfg.EventObject = "CronJob/tenancy-tempo-tenancy-reconcile"
	out := &testio.SyncBuffer{}
	r := &Runner{Cfg: cfg, Kube: kube, Out: out, Err: out, Now: time.Now}
	ctx := context.Background()

	r.report(ctx, ModeReconcile, report{create: 1, update: 2, rotate: 3, revoked: 3}, nil)
	r.report(ctx, ModeReconcile, report{}, &Refusal{Msg: "the plan would remove what the state holds"})
	r.report(ctx, ModePlan, report{}, &Drift{Msg: "the plan has changes"})
	r.report(ctx, ModeApply, report{}, errors.New("apply failed (exit 1)"))

	evs, err := kube.CoreV1().Events("tempo").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range evs.Items {
		reasons = append(reasons, e.Type+"/"+e.Reason)
		if e.InvolvedObject.Kind != "CronJob" || e.InvolvedObject.Name != "tenancy-tempo-tenancy-reconcile" || e.InvolvedObject.UID != "c0ffee" {
			t.Errorf("event %s is about %+v", e.Reason, e.InvolvedObject)
		}
		if e.Reason == ReasonRepaired && !strings.Contains(e.Message, "1 created, 2 updated") {
			t.Errorf("repair event: %q", e.Message)
		}
	}
	slices.Sort(reasons)
	want := []string{"Normal/DriftRepaired", "Normal/RunSucceeded", "Normal/TokensRotated", "Warning/DriftFound", "Warning/RunFailed", "Warning/RunRefused"}
	if !slices.Equal(reasons, want) {
		t.Errorf("events %v, want %v", reasons, want)
	}
}

// An Event that cannot be recorded is said in the log; the run goes on.
func TestRunEventsNotRecordable(t *testing.T) {
	cfg := testCfg
	cfg.EventObject = "Job/tenancy-tempo-tenancy-apply"
	kube := fake.NewClientset()
	kube.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", errors.New("no"))
	})
	out := &testio.SyncBuffer{}
	r := &Runner{Cfg: cfg, Kube: kube, Out: out, Err: out, Now: time.Now}
	r.report(context.Background(), ModeApply, report{}, nil)
	if !strings.Contains(out.String(), "WARNING: the Event RunSucceeded") {
		t.Errorf("output: %s", out.String())
	}
}

func TestEventObjectChecked(t *testing.T) {
	for _, v := range []string{"Pod/x", "CronJob/", "Job"} {
		if _, err := ConfigFromEnv(func(k string) string {
			if k == "TENANCY_EVENT_OBJECT" {
				return v
			}
			return ""
		}); err == nil {
			t.Errorf("TENANCY_EVENT_OBJECT=%q accepted", v)
		}
	}
}
