package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// runLock makes runs of one release take turns for their whole length, the
// token Secrets' writes included, which come after the CLI has released its
// own state lock. It is a Lease in the state's namespace that the holder
// renews while it runs: the Lease of a run that was killed outright (OOM,
// eviction, node loss) expires, and the next run takes it over, and with it
// releases the CLI's state lock that run left behind.
type runLock struct {
	kube      kubernetes.Interface
	namespace string
	name      string
	// stateLocks are the CLI's lock Leases of the release's states (the
	// kubernetes backend's lock-tfstate-...), one per state part.
	stateLocks []string
	duration   time.Duration
	now        func() time.Time
	say        func(format string, args ...any)

	host   string // this pod's host name, as the CLI's lock names it
	holder string // host#random: this run
	// previousStart is when the run whose expired Lease acquire took over
	// had started; zero otherwise.
	previousStart time.Time
}

func newRunLock(kube kubernetes.Interface, c Config, stateLocks []string, now func() time.Time, say func(string, ...any)) (*runLock, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("the pod's host name: %w", err)
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &runLock{
		kube: kube, namespace: c.StateNamespace, name: c.RunLease, stateLocks: stateLocks,
		duration: c.RunLeaseDuration, now: now, say: say,
		host: host, holder: host + "#" + hex.EncodeToString(b),
	}, nil
}

func hostOf(holder string) string {
	h, _, _ := strings.Cut(holder, "#")
	return h
}

func (l *runLock) expired(lease *coordinationv1.Lease) bool {
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		return true
	}
	renewed := lease.Spec.RenewTime
	if renewed == nil {
		renewed = lease.Spec.AcquireTime
	}
	d := l.duration
	if lease.Spec.LeaseDurationSeconds != nil {
		d = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
	}
	return renewed == nil || l.now().After(renewed.Add(d))
}

// acquire takes the Lease, waiting up to wait for a live run to end. It
// returns the holder it took it over from when that run's Lease had
// expired: a run that stopped without releasing it.
func (l *runLock) acquire(ctx context.Context, wait time.Duration) (string, error) {
	leases := l.kube.CoordinationV1().Leases(l.namespace)
	deadline := l.now().Add(wait)
	seconds := int32(min(l.duration/time.Second, 3600)) //nolint:gosec // at most 3600: a run lease lasts seconds to minutes
	for {
		now := metav1.NewMicroTime(l.now())
		lease, err := leases.Get(ctx, l.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: l.name, Namespace: l.namespace, Labels: map[string]string{labelManagedBy: "tempo-tenancy"}},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: &l.holder, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now},
			}, metav1.CreateOptions{FieldManager: fieldManager})
			if err == nil {
				return "", nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return "", fmt.Errorf("taking the run lease %s/%s: %s", l.namespace, l.name, apiMessage(err))
			}
			continue
		case err != nil:
			return "", fmt.Errorf("reading the run lease %s/%s: %s", l.namespace, l.name, apiMessage(err))
		}
		if l.expired(lease) {
			previous := ""
			if lease.Spec.HolderIdentity != nil {
				previous = *lease.Spec.HolderIdentity
			}
			if previous != "" && lease.Spec.AcquireTime != nil {
				l.previousStart = lease.Spec.AcquireTime.Time
			}
			lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds = &l.holder, &seconds
			lease.Spec.AcquireTime, lease.Spec.RenewTime = &now, &now
			_, err := leases.Update(ctx, lease, metav1.UpdateOptions{FieldManager: fieldManager})
			if err == nil {
				return previous, nil
			}
			if !apierrors.IsConflict(err) {
				return "", fmt.Errorf("taking the run lease %s/%s: %s", l.namespace, l.name, apiMessage(err))
			}
			continue // another run was quicker: look again
		}
		if !l.now().Before(deadline) {
			return "", fmt.Errorf("another run of this release (%s) still holds %s/%s after %s: wait for it to end, or raise runner.lockTimeout",
				*lease.Spec.HolderIdentity, l.namespace, l.name, wait)
		}
		select {
		case <-ctx.Done():
			return "", context.Cause(ctx)
		case <-time.After(2 * time.Second):
		}
	}
}

// hold renews the Lease until ctx ends. A renewal that finds the Lease taken
// by another run calls lost: this run must stop at once.
func (l *runLock) hold(ctx context.Context, lost func(error)) {
	leases := l.kube.CoordinationV1().Leases(l.namespace)
	tick := time.NewTicker(l.duration / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		lease, err := leases.Get(ctx, l.name, metav1.GetOptions{})
		if err == nil && (lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != l.holder) {
			lost(fmt.Errorf("the run lease %s/%s was taken over by %v while this run held it (it could not renew it in time)", l.namespace, l.name, ptrString(lease.Spec.HolderIdentity)))
			return
		}
		if err != nil {
			continue // a passing error: the next tick tries again, within the Lease's duration
		}
		now := metav1.NewMicroTime(l.now())
		lease.Spec.RenewTime = &now
		if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{FieldManager: fieldManager}); apierrors.IsConflict(err) {
			continue // read again next tick: a conflict is not a loss until the holder changes
		}
	}
}

// release frees the Lease for the next run, if this run still holds it.
// A renewal still in flight may win the race once; then it is read again.
func (l *runLock) release(ctx context.Context) {
	leases := l.kube.CoordinationV1().Leases(l.namespace)
	for range 3 {
		lease, err := leases.Get(ctx, l.name, metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != l.holder {
			return
		}
		empty := ""
		lease.Spec.HolderIdentity = &empty
		if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{FieldManager: fieldManager}); !apierrors.IsConflict(err) {
			return
		}
	}
}

// releaseStateLockOf frees the CLI's state locks when the run that took
// them is the one whose expired Lease this run took over: that run is gone,
// and no other could have taken a state lock while it held the run lease.
// A state lock of anyone else is left to the CLI's lock timeout.
func (l *runLock) releaseStateLockOf(ctx context.Context, previous string) error {
	if previous == "" {
		return nil
	}
	for _, name := range l.stateLocks {
		if err := l.releaseOne(ctx, name, previous); err != nil {
			return err
		}
	}
	return nil
}

func (l *runLock) releaseOne(ctx context.Context, stateLock, previous string) error {
	leases := l.kube.CoordinationV1().Leases(l.namespace)
	lease, err := leases.Get(ctx, stateLock, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the state lock %s/%s: %w", l.namespace, stateLock, apiError{err})
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		return nil
	}
	var info struct{ ID, Who, Created string }
	_ = json.Unmarshal([]byte(lease.Annotations[stateLockInfoAnnotation]), &info)
	_, host, _ := strings.Cut(info.Who, "@")
	if host == "" || host != hostOf(previous) {
		return nil
	}
	lease.Spec.HolderIdentity = nil
	delete(lease.Annotations, stateLockInfoAnnotation)
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
		return fmt.Errorf("releasing the state lock %s/%s that the stopped run %s left: %s", l.namespace, stateLock, hostOf(previous), apiMessage(err))
	}
	l.say("released the state lock %s (ID %s, taken %s) that run %s left when it stopped without releasing it", stateLock, info.ID, info.Created, hostOf(previous))
	return nil
}

// stateLockInfoAnnotation is where the kubernetes backend keeps who holds its
// lock.
const stateLockInfoAnnotation = "app.terraform.io/lock-info"

func ptrString(p *string) string {
	if p == nil {
		return "nobody"
	}
	return *p
}

// freeStateLocks frees the state locks a stopped run left: when this run
// took over the run lease of previous, those of the parts these values name
// and of every part the record says a run wrote to (a run of more parts
// than these values name may have held one of those); and, in any run,
// those an earlier take-over could not free. The Role of values that leave
// a part out does not grant its lock, which then waits in the record for
// the first run whose values name the part again: nothing else would free
// it once this run released the run lease.
func freeStateLocks(ctx context.Context, kube kubernetes.Interface, c Config, l *runLock, previous string) error {
	rec, err := readRecord(ctx, kube, c)
	if err != nil {
		return err
	}
	if previous == "" && len(rec.LeftLocks) == 0 {
		return nil
	}
	locks := slices.Clone(l.stateLocks)
	for _, name := range rec.StateParts {
		if lock := (backendConfig{SecretSuffix: name}).stateLock(); !slices.Contains(locks, lock) {
			locks = append(locks, lock)
		}
	}
	left := map[string]string{}
	for _, lock := range locks {
		var hosts []string
		if previous != "" {
			hosts = append(hosts, hostOf(previous))
		}
		if h := rec.LeftLocks[lock]; h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
		for _, host := range hosts {
			err := l.releaseOne(ctx, lock, host)
			if apierrors.IsForbidden(err) && !slices.Contains(l.stateLocks, lock) {
				left[lock] = host
				l.say("the state lock %s of a part these values leave out cannot be read (%s): if run %s left it, the first run whose values name that part again frees it", lock, apiMessage(err), host)
				continue
			}
			if err != nil {
				return err
			}
		}
	}
	if maps.Equal(left, rec.LeftLocks) {
		return nil
	}
	rec.LeftLocks = left
	return writeRecord(ctx, kube, c, rec)
}
