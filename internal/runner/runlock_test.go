package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func lockFor(kube *fake.Clientset, holder string, now func() time.Time, l *lines) *runLock {
	return &runLock{kube: kube, namespace: "st", name: "run", stateLocks: []string{"lock-tfstate-default-x"}, duration: 60 * time.Second,
		now: now, say: l.say, host: hostOf(holder), holder: holder}
}

func leaseObj(name, holder string, renewed time.Time, annotations map[string]string) *coordinationv1.Lease {
	secs := int32(60)
	t := metav1.NewMicroTime(renewed)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "st", Name: name, Annotations: annotations},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &t},
	}
}

func holderOf(t *testing.T, kube *fake.Clientset, name string) string {
	t.Helper()
	l, err := kube.CoordinationV1().Leases("st").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ptrString(l.Spec.HolderIdentity)
}

func TestRunLockTakesTurns(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	kube := fake.NewClientset()
	first := lockFor(kube, "pod-a#1", clock, &lines{})
	if prev, err := first.acquire(ctx, 0); err != nil || prev != "" {
		t.Fatalf("first run: %q, %v", prev, err)
	}
	// A second run while the first holds it, fresh: it waits, then gives up.
	second := lockFor(kube, "pod-b#2", clock, &lines{})
	if _, err := second.acquire(ctx, 0); err == nil || !strings.Contains(err.Error(), "pod-a#1") {
		t.Fatalf("second run took a held lease: %v", err)
	}
	// Released: the next run takes it, from nobody.
	first.release(ctx)
	if prev, err := second.acquire(ctx, 0); err != nil || prev != "" {
		t.Fatalf("after release: %q, %v", prev, err)
	}
	if h := holderOf(t, kube, "run"); h != "pod-b#2" {
		t.Errorf("holder %q", h)
	}
	// A release by a run that no longer holds it changes nothing.
	first.release(ctx)
	if h := holderOf(t, kube, "run"); h != "pod-b#2" {
		t.Errorf("holder after a stale release %q", h)
	}
}

// A run killed outright leaves both its run lease and the CLI's state lock;
// the next run takes the lease once it expires and frees the state lock
// that run held, and only that one.
func TestRunLockTakesOverAKilledRun(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	killedLock := `{"ID":"abc","Operation":"OperationTypeApply","Who":"65532@pod-dead","Created":"2026-12-03T11:58:00Z"}`
	kube := fake.NewClientset(
		leaseObj("run", "pod-dead#9", now.Add(-61*time.Second), nil),
		leaseObj("lock-tfstate-default-x", "abc", now.Add(-61*time.Second), map[string]string{stateLockInfoAnnotation: killedLock}),
	)
	l := &lines{}
	next := lockFor(kube, "pod-new#1", clock, l)
	prev, err := next.acquire(ctx, 0)
	if err != nil || prev != "pod-dead#9" {
		t.Fatalf("take-over: %q, %v", prev, err)
	}
	if err := next.releaseStateLockOf(ctx, prev); err != nil {
		t.Fatal(err)
	}
	if h := holderOf(t, kube, "lock-tfstate-default-x"); h != "nobody" {
		t.Errorf("the state lock of the killed run is still held by %s", h)
	}
	l.has(t, "released the state lock lock-tfstate-default-x (ID abc")

	// A state lock someone else holds (a person's tofu) is left alone.
	other := `{"ID":"def","Who":"alice@laptop","Created":"2026-12-03T11:59:00Z"}`
	kube2 := fake.NewClientset(
		leaseObj("run", "pod-dead#9", now.Add(-61*time.Second), nil),
		leaseObj("lock-tfstate-default-x", "def", now, map[string]string{stateLockInfoAnnotation: other}),
	)
	next2 := lockFor(kube2, "pod-new#1", clock, &lines{})
	prev, _ = next2.acquire(ctx, 0)
	if err := next2.releaseStateLockOf(ctx, prev); err != nil {
		t.Fatal(err)
	}
	if h := holderOf(t, kube2, "lock-tfstate-default-x"); h != "def" {
		t.Errorf("someone else's state lock was released (holder now %s)", h)
	}
}

func TestRunLockStopsARunThatLostIt(t *testing.T) {
	now := time.Now()
	kube := fake.NewClientset()
	l := lockFor(kube, "pod-a#1", func() time.Time { return now }, &lines{})
	l.duration = 30 * time.Millisecond
	if _, err := l.acquire(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	// Another run took it over (this one was paused past the expiry).
	lease, _ := kube.CoordinationV1().Leases("st").Get(context.Background(), "run", metav1.GetOptions{})
	other := "pod-b#2"
	lease.Spec.HolderIdentity = &other
	if _, err := kube.CoordinationV1().Leases("st").Update(context.Background(), lease, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lost := make(chan error, 1)
	go l.hold(ctx, func(err error) { lost <- err })
	select {
	case err := <-lost:
		if !strings.Contains(err.Error(), "taken over by pod-b#2") {
			t.Errorf("lost: %v", err)
		}
	case <-ctx.Done():
		t.Fatal(errors.New("hold never noticed the lease was taken"))
	}
}

// killedWithPartLock is a run killed holding the lock of part x-part-2,
// whose run lease expired a second ago.
func killedWithPartLock() (func() time.Time, Config, *fake.Clientset) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	killedLock := `{"ID":"abc","Operation":"OperationTypeApply","Who":"65532@pod-dead","Created":"2026-12-03T11:58:00Z"}`
	kube := fake.NewClientset(
		leaseObj("run", "pod-dead#9", now.Add(-61*time.Second), nil),
		leaseObj("lock-tfstate-default-x-part-2", "abc", now.Add(-61*time.Second), map[string]string{stateLockInfoAnnotation: killedLock}),
	)
	return func() time.Time { return now }, Config{Record: "rec", StateNamespace: "st"}, kube
}

// A killed run of more parts than these values name (a lowered
// state.parts, refused later) left the lock of a part they leave out: it
// is freed too, or setting state.parts back would find it held forever.
func TestTakeOverFreesTheLocksOfRecordedParts(t *testing.T) {
	ctx := context.Background()
	clock, c, kube := killedWithPartLock()
	if err := writeRecord(ctx, kube, c, record{StateParts: []string{"x-part-1", "x-part-2"}}); err != nil {
		t.Fatal(err)
	}
	l := &lines{}
	next := lockFor(kube, "pod-new#1", clock, l)
	prev, err := next.acquire(ctx, 0)
	if err != nil || prev != "pod-dead#9" {
		t.Fatalf("take-over: %q, %v", prev, err)
	}
	if err := freeStateLocks(ctx, kube, c, next, prev); err != nil {
		t.Fatal(err)
	}
	if h := holderOf(t, kube, "lock-tfstate-default-x-part-2"); h != "nobody" {
		t.Errorf("the lock of a recorded part the values leave out is still held by %s", h)
	}
	l.has(t, "released the state lock lock-tfstate-default-x-part-2")
}

// The Role of values that leave a part out no longer grants its lock: the
// run that takes over cannot free it, goes on (to refuse the lowered
// state.parts), and the record keeps who held it, so that the first run
// whose values name the part again frees it, though no run stopped then.
func TestLeftOutPartsLockIsFreedWhenItComesBack(t *testing.T) {
	ctx := context.Background()
	clock, c, kube := killedWithPartLock()
	forbidden := true
	kube.PrependReactor("*", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if n, ok := a.(k8stesting.GetAction); ok && forbidden && n.GetName() == "lock-tfstate-default-x-part-2" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, n.GetName(), errors.New("not in the Role"))
		}
		return false, nil, nil
	})
	if err := writeRecord(ctx, kube, c, record{StateParts: []string{"x-part-1", "x-part-2"}}); err != nil {
		t.Fatal(err)
	}
	l := &lines{}
	lowered := lockFor(kube, "pod-new#1", clock, l)
	lowered.stateLocks = []string{"lock-tfstate-default-x", "lock-tfstate-default-x-part-1"}
	prev, err := lowered.acquire(ctx, 0)
	if err != nil || prev != "pod-dead#9" {
		t.Fatalf("take-over: %q, %v", prev, err)
	}
	if err := freeStateLocks(ctx, kube, c, lowered, prev); err != nil {
		t.Fatalf("a lock the Role no longer grants must not fail the run: %v", err)
	}
	l.has(t, "lock-tfstate-default-x-part-2")
	lowered.release(ctx)

	// state.parts set back: the Role grants the lock again, and a run
	// that takes over nothing frees it.
	forbidden = false
	l2 := &lines{}
	back := lockFor(kube, "pod-back#2", clock, l2)
	back.stateLocks = []string{"lock-tfstate-default-x", "lock-tfstate-default-x-part-1", "lock-tfstate-default-x-part-2"}
	if prev, err := back.acquire(ctx, 0); err != nil || prev != "" {
		t.Fatalf("after a release: %q, %v", prev, err)
	}
	if err := freeStateLocks(ctx, kube, c, back, ""); err != nil {
		t.Fatal(err)
	}
	if h := holderOf(t, kube, "lock-tfstate-default-x-part-2"); h != "nobody" {
		t.Errorf("the lock the stopped run left is still held by %s", h)
	}
	l2.has(t, "released the state lock lock-tfstate-default-x-part-2")
	if rec, err := readRecord(ctx, kube, c); err != nil || len(rec.LeftLocks) != 0 {
		t.Errorf("the record still lists %v (%v)", rec.LeftLocks, err)
	}
}
