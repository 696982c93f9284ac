package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/testio"
)

func TestChangedKeys(t *testing.T) {
	before := map[string]TokenSecret{
		"rotated":  {Namespace: "a", Name: "s", Key: "token", TokenName: "rotated-1"},
		"kept":     {Namespace: "a", Name: "t", Key: "token", TokenName: "kept-1"},
		"old-name": {Namespace: "a", Name: "u", Key: "token", TokenName: "old-1"},
	}
	after := map[string]TokenSecret{
		"rotated":  {Namespace: "a", Name: "s", Key: "token", TokenName: "rotated-2"},
		"kept":     {Namespace: "a", Name: "t", Key: "token", TokenName: "kept-1"},
		"new-name": {Namespace: "a", Name: "u", Key: "token", TokenName: "new-1"},
		"new":      {Namespace: "a", Name: "v", Key: "token", TokenName: "new-2"},
	}
	got := changedKeys(before, after)
	if len(got) != 2 || !got[secretKey{"a", "s", "token"}] || !got[secretKey{"a", "u", "token"}] {
		t.Errorf("changed keys = %v, want a/s and a/u (a rotation and a new name for the same key)", got)
	}
}

// The workloads that read a replaced token are restarted once each; one
// that cannot be is a warning, not a failed run.
func TestRestartWorkloads(t *testing.T) {
	kube := fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "collector"}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "ingester"}},
	)
	out := &testio.SyncBuffer{}
	cfg := testCfg
	cfg.EventObject = "Job/tenancy-tempo-tenancy-apply"
	r := &Runner{Cfg: cfg, Kube: kube, Out: out, Err: out, Now: time.Now}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, restartsFile), []byte(`[
		{"namespace": "a", "secret": "s", "key": "token", "kind": "Deployment", "name": "collector"},
		{"namespace": "a", "secret": "u", "key": "token", "kind": "Deployment", "name": "collector"},
		{"namespace": "a", "secret": "s", "key": "token", "kind": "StatefulSet", "name": "ingester"},
		{"namespace": "a", "secret": "s", "key": "token", "kind": "DaemonSet", "name": "missing"},
		{"namespace": "a", "secret": "t", "key": "token", "kind": "Deployment", "name": "unchanged"}
	]`), 0o600); err != nil {
		t.Fatal(err)
	}
	restarts, err := readRestarts(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := r.restartWorkloads(ctx, restarts, map[secretKey]bool{{"a", "s", "token"}: true, {"a", "u", "token"}: true})
	if n != 2 {
		t.Errorf("restarted %d, want the Deployment and the StatefulSet once each\n%s", n, out.String())
	}
	d, _ := kube.AppsV1().Deployments("a").Get(ctx, "collector", metav1.GetOptions{})
	s, _ := kube.AppsV1().StatefulSets("a").Get(ctx, "ingester", metav1.GetOptions{})
	if d.Spec.Template.Annotations[annotationRestartedAt] == "" || s.Spec.Template.Annotations[annotationRestartedAt] == "" {
		t.Errorf("pod templates not annotated: %v %v", d.Spec.Template.Annotations, s.Spec.Template.Annotations)
	}
	if !strings.Contains(out.String(), "WARNING: DaemonSet a/missing") || strings.Contains(out.String(), "unchanged") {
		t.Errorf("output: %s", out.String())
	}
	evs, _ := kube.CoreV1().Events("tempo").List(ctx, metav1.ListOptions{})
	if len(evs.Items) != 1 || evs.Items[0].Reason != ReasonRestartFailed {
		t.Errorf("events: %+v", evs.Items)
	}
	if none, err := readRestarts(t.TempDir()); err != nil || none != nil {
		t.Errorf("no restarts file: %v, %v", none, err)
	}
}
