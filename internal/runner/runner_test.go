package runner

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/testio"
)

var testCfg = Config{
	Release: "tenancy", ReleaseNamespace: "tempo",
	Record: "tenancy-record", StateNamespace: "tempo-state",
	RotationOverlap: 0,
}

func secretObj(ns, name string, data map[string]string, labels, annotations map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Annotations: annotations, ResourceVersion: "7"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func created(by string) map[string]string { return map[string]string{annotationCreator: by} }

func ours() map[string]string {
	return map[string]string{labelManagedBy: "tempo-tenancy", labelRelease: "tenancy", labelReleaseNS: "tempo"}
}

func ptr(s string) *string { return &s }

// lines collects what a phase says.
type lines struct{ got []string }

func (l *lines) say(format string, args ...any) { l.got = append(l.got, fmt.Sprintf(format, args...)) }

func (l *lines) has(t *testing.T, want string) {
	t.Helper()
	for _, g := range l.got {
		if strings.Contains(g, want) {
			return
		}
	}
	t.Errorf("no line says %q; lines:\n%s", want, strings.Join(l.got, "\n"))
}

func getSecret(t *testing.T, kube *fake.Clientset, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := kube.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writes counts the requests that change Secrets.
func writes(kube *fake.Clientset) int {
	n := 0
	for _, a := range kube.Actions() {
		if a.GetResource().Resource == "secrets" && a.GetVerb() != "get" && a.GetVerb() != "list" {
			n++
		}
	}
	return n
}

func TestOwnership(t *testing.T) {
	known := []Target{{Namespace: "team-a", Name: "legacy"}}
	o := newOwnership(testCfg, known)
	for _, tc := range []struct {
		name string
		s    *corev1.Secret
		want bool
	}{
		{"created by the release", secretObj("x", "a", nil, nil, created("tempo/tenancy")), true},
		{"labelled by the release and its namespace", secretObj("x", "b", nil, ours(), nil), true},
		{"a release of the same name in another namespace", secretObj("x", "c", nil,
			map[string]string{labelRelease: "tenancy", labelReleaseNS: "other"}, created("other/tenancy")), false},
		{"older mark, in the record", secretObj("team-a", "legacy", nil, nil, created("tenancy")), true},
		{"older mark, not in the record", secretObj("team-a", "elsewhere", nil, nil, created("tenancy")), false},
		{"older label, in the record", secretObj("team-a", "legacy", nil, map[string]string{labelRelease: "tenancy"}, nil), true},
		{"older label, not in the record", secretObj("team-b", "legacy", nil, map[string]string{labelRelease: "tenancy"}, nil), false},
		{"nobody's", secretObj("x", "d", nil, nil, nil), false},
	} {
		if got := o.owns(tc.s); got != tc.want {
			t.Errorf("%s: owns = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCheckNoForeignRefusesBeforeAnythingIsWritten(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(
		secretObj("team-a", "foreign", map[string]string{"token": "theirs"}, nil, nil),
		secretObj("team-a", "mine", map[string]string{"token": "x"}, ours(), created("tempo/tenancy")),
	)
	l := &lines{}
	p := secretsPhase{cfg: testCfg, kube: kube, say: l.say}
	named := []Target{{Namespace: "team-a", Name: "foreign"}, {Namespace: "team-a", Name: "mine"}, {Namespace: "team-a", Name: "new"}}
	err := p.checkNoForeign(ctx, named, nil)
	var refusal *Refusal
	if !errors.As(err, &refusal) {
		t.Fatalf("want a refusal, got %v", err)
	}
	for _, want := range []string{"team-a/foreign (no tempo-tenancy label)", "no token was created", "adoptExistingSecrets"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "team-a/mine") {
		t.Errorf("the release's own Secret is listed: %v", err)
	}
	if writes(kube) != 0 {
		t.Errorf("the check wrote %d times", writes(kube))
	}
	p.cfg.AdoptSecrets = true
	if err := p.checkNoForeign(ctx, named, nil); err != nil {
		t.Errorf("with adoptExistingSecrets: %v", err)
	}
}

func TestWriteCreatesUpdatesAndSkips(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(
		// Up to date: nothing to write.
		secretObj("team-a", "same", map[string]string{"token": "s1"}, ours(), created("tempo/tenancy")),
		// Holds the old token and a key of someone else.
		secretObj("team-b", "rotated", map[string]string{"token": "old", "other": "keep"}, ours(), created("tempo/tenancy")),
	)
	l := &lines{}
	p := secretsPhase{cfg: testCfg, kube: kube, say: l.say}
	want, missing := desiredSecrets(testCfg, map[string]TokenSecret{
		"a":        {Namespace: "team-a", Name: "same", Key: "token", TokenName: "a-1", Token: ptr("s1")},
		"b":        {Namespace: "team-b", Name: "rotated", Key: "token", TokenName: "b-2", Token: ptr("new")},
		"c":        {Namespace: "team-c", Name: "fresh", Key: "token", TokenName: "c-1", Token: ptr("s3")},
		"imported": {Namespace: "team-c", Name: "other", Key: "token", TokenName: "imp", Token: nil},
	})
	if !slices.Equal(missing, []string{"imp"}) {
		t.Errorf("missing = %v", missing)
	}
	n, err := p.write(ctx, want, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("wrote %d Secrets, want 2", n)
	}
	fresh := getSecret(t, kube, "team-c", "fresh")
	if fresh == nil || string(fresh.Data["token"]) != "s3" || fresh.Annotations[annotationCreator] != "tempo/tenancy" ||
		fresh.Labels[labelRelease] != "tenancy" || fresh.Labels[labelReleaseNS] != "tempo" {
		t.Errorf("the new Secret is %+v", fresh)
	}
	rot := getSecret(t, kube, "team-b", "rotated")
	if string(rot.Data["token"]) != "new" || string(rot.Data["other"]) != "keep" {
		t.Errorf("the rotated Secret holds %q", rot.Data)
	}
	if getSecret(t, kube, "team-c", "other") != nil {
		t.Error("a Secret was made for a token without a known secret")
	}
	l.has(t, "secret team-c/fresh: token c-1")

	// A second run with the same tokens writes nothing.
	kube.ClearActions()
	if n, err := p.write(ctx, want, nil); err != nil || n != 0 || writes(kube) != 0 {
		t.Errorf("second run: wrote %d (%d requests), %v", n, writes(kube), err)
	}
}

func TestWriteRefusesForeignAndWritesNone(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(secretObj("team-a", "foreign", map[string]string{"token": "theirs"}, map[string]string{labelRelease: "someone"}, nil))
	p := secretsPhase{cfg: testCfg, kube: kube, say: (&lines{}).say}
	want, _ := desiredSecrets(testCfg, map[string]TokenSecret{
		"a": {Namespace: "team-a", Name: "foreign", Key: "token", TokenName: "a", Token: ptr("mine")},
		"b": {Namespace: "team-b", Name: "fine", Key: "token", TokenName: "b", Token: ptr("mine")},
	})
	_, err := p.write(ctx, want, nil)
	var refusal *Refusal
	if !errors.As(err, &refusal) || !strings.Contains(err.Error(), "team-a/foreign (someone)") {
		t.Fatalf("want a refusal naming the Secret, got %v", err)
	}
	if writes(kube) != 0 {
		t.Errorf("%d writes despite the refusal", writes(kube))
	}

	// Adopted: its keys are written, and it is not marked as created by
	// the release (its removal takes only the keys).
	p.cfg.AdoptSecrets = true
	if _, err := p.write(ctx, want, nil); err != nil {
		t.Fatal(err)
	}
	s := getSecret(t, kube, "team-a", "foreign")
	if string(s.Data["token"]) != "mine" || s.Annotations[annotationCreator] != "" {
		t.Errorf("adopted Secret: data %q, annotations %v", s.Data, s.Annotations)
	}
}

func TestRemove(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(
		secretObj("team-a", "whole", map[string]string{"token": "x"}, ours(), created("tempo/tenancy")),
		secretObj("team-a", "shared", map[string]string{"token": "x", "theirs": "y"}, ours(), created("tempo/tenancy")),
		secretObj("team-a", "adopted", map[string]string{"token": "x"}, ours(), nil),
		secretObj("team-a", "twokeys", map[string]string{"old": "x", "new": "z"}, ours(), created("tempo/tenancy")),
		secretObj("team-a", "foreign", map[string]string{"token": "x"}, nil, nil),
	)
	// Secrets of namespace "locked" may not be read.
	kube.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "locked" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "x", errors.New("no"))
		}
		return false, nil, nil
	})
	previous := []Target{
		{Namespace: "team-a", Name: "whole", Keys: []string{"token"}},
		{Namespace: "team-a", Name: "shared", Keys: []string{"token"}},
		{Namespace: "team-a", Name: "adopted", Keys: []string{"token"}},
		{Namespace: "team-a", Name: "twokeys", Keys: []string{"new", "old"}},
		{Namespace: "team-a", Name: "foreign", Keys: []string{"token"}},
		{Namespace: "team-a", Name: "gone", Keys: []string{"token"}},
		{Namespace: "locked", Name: "extra", Keys: []string{"token"}},
	}
	current := []Target{{Namespace: "team-a", Name: "twokeys", Keys: []string{"new"}}}
	l := &lines{}
	p := secretsPhase{cfg: testCfg, kube: kube, say: l.say}
	pending, err := p.remove(ctx, removals(previous, current), previous)
	if err != nil {
		t.Fatal(err)
	}
	if getSecret(t, kube, "team-a", "whole") != nil {
		t.Error("the release's own Secret of a removed token was not deleted")
	}
	if s := getSecret(t, kube, "team-a", "shared"); s == nil || len(s.Data) != 1 || string(s.Data["theirs"]) != "y" {
		t.Errorf("a Secret with another writer's key: %v", s)
	}
	if s := getSecret(t, kube, "team-a", "adopted"); s == nil || len(s.Data) != 0 {
		t.Errorf("an adopted Secret must lose its key and stay: %v", s)
	}
	if s := getSecret(t, kube, "team-a", "twokeys"); s == nil || len(s.Data) != 1 || string(s.Data["new"]) != "z" {
		t.Errorf("a Secret whose token moved to another key: %v", s)
	}
	if s := getSecret(t, kube, "team-a", "foreign"); s == nil || string(s.Data["token"]) != "x" {
		t.Errorf("someone else's Secret was changed: %v", s)
	}
	if len(pending) != 1 || pending[0].id() != "locked/extra" {
		t.Errorf("pending = %v, want locked/extra", pending)
	}
	l.has(t, "secret locked/extra: not readable by the runner (HTTP 403); it stays listed for removal: name it under runner.allowRemovals.secrets ({namespace: locked, name: extra})")
	l.has(t, "secret team-a/foreign: not written by this release; left as it is")
	l.has(t, "secret team-a/whole: removed")
}

func TestRemoveStopsWhenTheSecretChangedMeanwhile(t *testing.T) {
	kube := fake.NewClientset(secretObj("team-a", "whole", map[string]string{"token": "x"}, ours(), created("tempo/tenancy")))
	kube.PrependReactor("delete", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, "whole", errors.New("precondition failed"))
	})
	p := secretsPhase{cfg: testCfg, kube: kube, say: (&lines{}).say}
	prev := []Target{{Namespace: "team-a", Name: "whole", Keys: []string{"token"}}}
	_, err := p.remove(context.Background(), removals(prev, nil), prev)
	if err == nil || !strings.Contains(err.Error(), "changed while it was being removed; run again") {
		t.Fatalf("got %v", err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	if rec, err := readRecord(ctx, kube, testCfg); err != nil || len(rec.Secrets) != 0 || len(rec.Consents) != 0 {
		t.Fatalf("no record yet: %v, %v", rec, err)
	}
	in := []Target{{Namespace: "b", Name: "s", Keys: []string{"k2"}}, {Namespace: "a", Name: "s", Keys: []string{"k"}}, {Namespace: "b", Name: "s", Keys: []string{"k1", "k2"}}}
	used := []usedConsent{{Address: `tempo_tenant.this["b"]`, Consent: "", At: "2026-12-01T00:00:00Z"}}
	parts := []string{"r-part-0", "r-part-1"}
	if err := writeRecord(ctx, kube, testCfg, record{Secrets: in, Consents: used, StateParts: parts, PartsSettled: parts[:1]}); err != nil {
		t.Fatal(err)
	}
	got, err := readRecord(ctx, kube, testCfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.StateParts, parts) || !slices.Equal(got.PartsSettled, parts[:1]) {
		t.Errorf("state parts = %v, settled %v", got.StateParts, got.PartsSettled)
	}
	want := []Target{{Namespace: "a", Name: "s", Keys: []string{"k"}}, {Namespace: "b", Name: "s", Keys: []string{"k1", "k2"}}}
	if fmt.Sprint(got.Secrets) != fmt.Sprint(want) || fmt.Sprint(got.Consents) != fmt.Sprint(used) {
		t.Errorf("record = %v, want %v and %v", got, want, used)
	}
	// A later write of the Secrets alone keeps the consents: both keys are
	// written every time, so server-side apply never drops one.
	got.Secrets = nil
	if err := writeRecord(ctx, kube, testCfg, got); err != nil {
		t.Fatal(err)
	}
	if again, _ := readRecord(ctx, kube, testCfg); len(again.Consents) != 1 || len(again.Secrets) != 0 {
		t.Errorf("after rewriting: %v", again)
	}
	cm, _ := kube.CoreV1().ConfigMaps("tempo-state").Get(ctx, "tenancy-record", metav1.GetOptions{})
	cm.Data[recordKey] = "{not a list"
	if _, err := kube.CoreV1().ConfigMaps("tempo-state").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := readRecord(ctx, kube, testCfg); err == nil || !strings.Contains(err.Error(), "tempo-state/tenancy-record") {
		t.Errorf("a broken record must stop the run, naming it: %v", err)
	}
}

func TestWriteRotated(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(
		secretObj("team-a", "live", map[string]string{"token": "old", "other": "keep"}, ours(), created("tempo/tenancy")),
		secretObj("team-a", "foreign", map[string]string{"token": "theirs"}, nil, nil),
		secretObj("team-a", "empty", map[string]string{}, ours(), created("tempo/tenancy")),
	)
	p := secretsPhase{cfg: testCfg, kube: kube, say: (&lines{}).say}
	for _, tc := range []struct {
		name, secret string
		wrote        bool
		err          string
	}{
		{"missing", "new", false, ""},
		{"empty", "new", false, ""},
		{"live", "old", false, ""},
		{"foreign", "new", false, "not written by this release"},
		{"live", "new", true, ""},
	} {
		wrote, err := p.writeRotated(ctx, Target{Namespace: "team-a", Name: tc.name}, "token", tc.secret)
		if wrote != tc.wrote || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: wrote %v, err %v; want %v, %q", tc.name, wrote, err, tc.wrote, tc.err)
		}
	}
	s := getSecret(t, kube, "team-a", "live")
	if string(s.Data["token"]) != "new" || string(s.Data["other"]) != "keep" {
		t.Errorf("live Secret holds %q", s.Data)
	}
	if s := getSecret(t, kube, "team-a", "foreign"); string(s.Data["token"]) != "theirs" {
		t.Error("someone else's Secret was written")
	}
}

// write-secret writes a rotated token's secret at once and returns: the
// run waits one overlap for all its rotations, after the apply.
func TestWriteSecretWritesAtOnceWithoutWaiting(t *testing.T) {
	kube := fake.NewClientset(secretObj("team-a", "live", map[string]string{"token": "old"}, ours(), created("tempo/tenancy")))
	out := &testio.SyncBuffer{}
	cfg := testCfg
	cfg.RotationOverlap = time.Hour
	r := &Runner{Cfg: cfg, Kube: kube, Out: out, Now: time.Now}
	env := map[string]string{"TENANCY_TOKEN_NAMESPACE": "team-a", "TENANCY_TOKEN_SECRET_NAME": "live", "TENANCY_TOKEN_KEY": "token", "TENANCY_TOKEN_SECRET": "new"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WriteSecret(ctx, func(k string) string { return env[k] }, "tok-2"); err != nil {
		t.Fatal(err)
	}
	if s := getSecret(t, kube, "team-a", "live"); string(s.Data["token"]) != "new" {
		t.Errorf("the rotated secret was not written: %q", s.Data)
	}
	if !strings.Contains(out.String(), "token tok-2 written") || strings.Contains(out.String(), "new") {
		t.Errorf("output: %s", out.String())
	}
}

func TestDestructiveChanges(t *testing.T) {
	rc := func(addr, typ string, deposed string, acts ...tfjson.Action) *tfjson.ResourceChange {
		return &tfjson.ResourceChange{Address: addr, Type: typ, DeposedKey: deposed, Change: &tfjson.Change{Actions: acts}}
	}
	plan := &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{
		rc(`tempo_tenant.this["b"]`, "tempo_tenant", "", tfjson.ActionDelete),
		rc(`tempo_tenant.this["c"]`, "tempo_tenant", "", tfjson.ActionDelete, tfjson.ActionCreate),
		rc(`tempo_access_policy.this["p"]`, "tempo_access_policy", "", tfjson.ActionUpdate),
		rc(`tempo_token.this["rotated"]`, "tempo_token", "", tfjson.ActionCreate, tfjson.ActionDelete),
		rc(`tempo_token.this["gone"]`, "tempo_token", "", tfjson.ActionDelete),
		rc(`tempo_token.this["old"]`, "tempo_token", "abcd", tfjson.ActionDelete),
		rc(`tempo_token.this["allowed"]`, "tempo_token", "", tfjson.ActionDelete),
		rc(`terraform_data.rotation["x"]`, "terraform_data", "", tfjson.ActionDelete),
	}}
	cfg := Config{AllowedRemovals: []string{`tempo_token.this["allowed"]`, `tempo_tenant.this["b"]`}, ConsentID: "second"}
	rec := record{Consents: []usedConsent{
		{Address: `tempo_tenant.this["b"]`, Consent: "second", At: "2026-12-01T00:00:00Z"},
		{Address: `tempo_token.this["allowed"]`, Consent: "first", At: "2026-11-01T00:00:00Z"},
	}}
	notAllowed, usedBefore, consented := consentCheck(removalsIn(plan), cfg, rec)
	if want := []string{`  tempo_tenant.this["c"] (replace)`, `  tempo_token.this["gone"] (revoke)`}; !slices.Equal(notAllowed, want) {
		t.Errorf("not allowed: %q, want %q", notAllowed, want)
	}
	if want := []string{`  tempo_tenant.this["b"] (deactivate): consent "second" used at 2026-12-01T00:00:00Z`}; !slices.Equal(usedBefore, want) {
		t.Errorf("used before: %q, want %q", usedBefore, want)
	}
	if len(consented) != 1 || consented[0].Address != `tempo_token.this["allowed"]` {
		t.Errorf("consented: %v", consented)
	}
	// allowDestroy allows all, once per consent too.
	cfg = Config{AllowDestroy: true, ConsentID: "second"}
	notAllowed, usedBefore, consented = consentCheck(removalsIn(plan), cfg, rec)
	if len(notAllowed) != 0 || len(usedBefore) != 1 || len(consented) != 3 {
		t.Errorf("allowDestroy: %q, %q, %v", notAllowed, usedBefore, consented)
	}
}

func TestEncryptionConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := dir + "/key"
		if err := writeFile(p, s); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := readPassphrase(write("short\n"), "state.encryption.keySecret"); err == nil || !strings.Contains(err.Error(), "shorter than 16") {
		t.Errorf("short key: %v", err)
	}
	if _, err := readPassphrase(dir+"/none", "state.encryption.keySecret"); err == nil || !strings.Contains(err.Error(), "keySecret") {
		t.Errorf("missing key: %v", err)
	}
	pass, err := readPassphrase(write("a\"b\\c${x}%{y}<&>0123456789\r\n"), "state.encryption.keySecret")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := encryptionConfig(stateKey{name: "state", passphrase: pass}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg, `passphrase = "a\"b\\c$${x}%%{y}<&>0123456789"`) || !strings.Contains(cfg, "enforced = true") ||
		strings.Contains(cfg, "unencrypted") || strings.Contains(cfg, "fallback") {
		t.Errorf("config:\n%s", cfg)
	}
	cfg, _ = encryptionConfig(stateKey{name: "state", passphrase: "0123456789abcdef"}, nil, true)
	if !strings.Contains(cfg, "method.unencrypted.migrate") || !strings.Contains(cfg, "enforced = false") {
		t.Errorf("migrating config:\n%s", cfg)
	}
	// A rotation: written under the other name with the new passphrase,
	// read with the old one under the name the state has.
	cfg, _ = encryptionConfig(stateKey{name: otherKeyName("state"), passphrase: "new-passphrase-0123"}, &stateKey{name: "state", passphrase: "old-passphrase-0123"}, false)
	for _, want := range []string{
		"key_provider \"pbkdf2\" \"next\" {\n  passphrase = \"new-passphrase-0123\"",
		"key_provider \"pbkdf2\" \"state\" {\n  passphrase = \"old-passphrase-0123\"",
		"state {\n  method   = method.aes_gcm.next\n  enforced = true\n  fallback {\n    method = method.aes_gcm.state\n  }",
		"plan {\n  method   = method.aes_gcm.next",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("rotating config lacks %q:\n%s", want, cfg)
		}
	}
	if otherKeyName("next") != "state" {
		t.Error("names must alternate")
	}
	if _, err := encryptionConfig(stateKey{name: "state", passphrase: "x"}, &stateKey{name: "next", passphrase: "y"}, true); err == nil {
		t.Error("migrating and rotating at once must be refused")
	}
}

func TestKeyNameInState(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return b.Bytes()
	}
	for _, tc := range []struct {
		stored []byte
		want   string
	}{
		{nil, ""},
		{gz(`{"version":4,"resources":[]}`), ""},
		{gz(`{"meta":{"key_provider.pbkdf2.next":"e30="},"encrypted_data":"x","encryption_version":"v0"}`), "next"},
	} {
		got, err := keyNameInState(tc.stored)
		if err != nil || got != tc.want {
			t.Errorf("keyNameInState = %q, %v; want %q", got, err, tc.want)
		}
	}
	if _, err := keyNameInState([]byte("not gzip")); err == nil {
		t.Error("a state that is not gzip must be an error")
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"TENANCY_WORK_DIR": "/w", "TENANCY_ALLOWED_REMOVALS": `["a","b"]`, "TENANCY_ALLOW_DESTROY": "true", "TENANCY_ROTATION_OVERLAP": "5",
		"TENANCY_RUN_LEASE": "rel-run", "TENANCY_CONSENT_ID": "second", "TENANCY_MAX_ROTATIONS": "200", "TENANCY_ADOPT_EXISTING": "true"}
	get := func(k string) string { return env[k] }
	c, err := ConfigFromEnv(get)
	if err != nil {
		t.Fatal(err)
	}
	if c.TF != "tofu" || c.ScratchDir != "/w" || !c.AllowDestroy || !slices.Equal(c.AllowedRemovals, []string{"a", "b"}) ||
		c.RotationOverlap != 5*time.Second || c.LockTimeout != "120s" || c.RunLease != "rel-run" || c.RunLeaseDuration != time.Minute ||
		c.ConsentID != "second" || c.MaxRotations != 200 || !c.AdoptExisting {
		t.Errorf("config %+v", c)
	}
	for k, v := range map[string]string{"TENANCY_ALLOWED_REMOVALS": `"a"`, "TENANCY_ALLOW_DESTROY": "yes", "TENANCY_WAIT_SECONDS": "-1", "TENANCY_RUN_LEASE_SECONDS": "1", "TENANCY_MAX_ROTATIONS": "-5", "TENANCY_ADOPT_EXISTING": "yes"} {
		bad := map[string]string{k: v}
		if _, err := ConfigFromEnv(func(k string) string { return bad[k] }); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}

func TestSecretsNamed(t *testing.T) {
	got, err := secretsNamed([]byte(`{"tokens":{"a":{"secret":{"namespace":"n","name":"s","key":"k1"}},"b":{"secret":{"namespace":"n","name":"s","key":"k2"}},"c":{"secret":{"namespace":"m","name":"t","key":"k"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].id() != "m/t" || got[1].id() != "n/s" {
		t.Errorf("got %v", got)
	}
}

func TestParseTokenSecrets(t *testing.T) {
	got, err := parseTokenSecrets(json.RawMessage(`{"a":{"namespace":"n","name":"s","key":"k","token_name":"t","token":null}}`))
	if err != nil || got["a"].Token != nil || got["a"].TokenName != "t" {
		t.Errorf("got %+v, %v", got, err)
	}
	if got, err := parseTokenSecrets(nil); err != nil || len(got) != 0 {
		t.Errorf("no output: %v, %v", got, err)
	}
	if _, err := parseTokenSecrets(json.RawMessage(`["x"]`)); err == nil {
		t.Error("a malformed output must not read as no tokens")
	}
}
