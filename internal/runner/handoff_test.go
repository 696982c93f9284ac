package runner

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/testio"
)

func TestHandoffsIn(t *testing.T) {
	rc := func(key string, deposed string, name string, acts ...tfjson.Action) *tfjson.ResourceChange {
		return &tfjson.ResourceChange{
			Address: `tempo_token.this["` + key + `"]`, Type: "tempo_token", Mode: tfjson.ManagedResourceMode, Index: key, DeposedKey: deposed,
			Change: &tfjson.Change{Actions: acts, Before: map[string]any{"name": name}},
		}
	}
	plan := &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{
		rc("rotated", "", "rotated-abc", tfjson.ActionCreate, tfjson.ActionDelete),
		rc("old-prefix", "", "old-prefix-def", tfjson.ActionDelete),
		rc("gone", "", "gone-ghi", tfjson.ActionDelete),
		rc("deposed", "0f", "deposed-jkl", tfjson.ActionDelete),
		rc("kept", "", "kept-mno", tfjson.ActionUpdate),
		{Address: `tempo_tenant.this["x"]`, Type: "tempo_tenant", Mode: tfjson.ManagedResourceMode, Index: "x", Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionDelete}}},
	}}
	before := map[string]TokenSecret{
		"rotated":    {Namespace: "a", Name: "s1", Key: "token", TokenName: "rotated-abc"},
		"old-prefix": {Namespace: "a", Name: "s2", Key: "token", TokenName: "old-prefix-def"},
		"gone":       {Namespace: "b", Name: "s3", Key: "token", TokenName: "gone-ghi"},
		"deposed":    {Namespace: "a", Name: "s4", Key: "token", TokenName: "deposed-new"},
		"kept":       {Namespace: "a", Name: "s5", Key: "token", TokenName: "kept-mno"},
	}
	tfvars := []byte(`{"tokens": {
		"rotated":    {"secret": {"namespace": "a", "name": "s1", "key": "token"}},
		"new-prefix": {"secret": {"namespace": "a", "name": "s2", "key": "token"}},
		"deposed":    {"secret": {"namespace": "a", "name": "s4", "key": "token"}},
		"kept":       {"secret": {"namespace": "a", "name": "s5", "key": "token"}}
	}}`)
	declared, err := declaredKeys(tfvars)
	if err != nil {
		t.Fatal(err)
	}
	got := handoffsIn(plan, before, declared)
	want := []pendingRevocation{
		{Name: "old-prefix-def", Address: `tempo_token.this["old-prefix"]`, ReadFrom: "a/s2:token"},
		{Name: "rotated-abc", Address: `tempo_token.this["rotated"]`, ReadFrom: "a/s1:token"},
	}
	if len(got) != len(want) {
		t.Fatalf("handoffs = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("handoff %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if all := addRevocations(want[:1], want); len(all) != 2 {
		t.Errorf("addRevocations kept duplicates: %+v", all)
	}
}

// revokeEnv is an admin API emulator with live tokens and a runner whose
// record lists some of them to revoke.
func revokeEnv(t *testing.T, names ...string) (*Runner, *emulator.Server, *adminapi.Client, *testio.SyncBuffer) {
	t.Helper()
	const adminToken = "handoff-test-admin-token"
	emu, err := emulator.New(emulator.Options{AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	admin, err := adminapi.New(adminapi.Config{URL: srv.URL, Token: adminToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := admin.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "w", Scopes: []string{"traces:write"}, Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "tempo"}}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := admin.CreateToken(ctx, adminapi.Token{Name: n, AccessPolicy: "w"}); err != nil {
			t.Fatal(err)
		}
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(adminToken), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testCfg
	cfg.AdminURL, cfg.AdminTokenFile = srv.URL, tokenFile
	out := &testio.SyncBuffer{}
	return &Runner{Cfg: cfg, Kube: fake.NewClientset(), Out: out, Err: out, Now: time.Now}, emu, admin, out
}

func active(t *testing.T, admin *adminapi.Client, name string) bool {
	t.Helper()
	tk, err := admin.GetToken(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return tk.Status == adminapi.StatusActive
}

// Handed-off tokens are revoked, except one the state holds again; the
// record forgets them once revoked, and one that cannot be revoked stays
// listed and fails the run.
func TestRevokePending(t *testing.T) {
	r, emu, admin, out := revokeEnv(t, "old-1", "old-2", "held")
	ctx := context.Background()
	rec := record{Revocations: []pendingRevocation{
		{Name: "old-1", Address: `tempo_token.this["a"]`, ReadFrom: "a/s:token"},
		{Name: "old-2", Address: `tempo_token.this["b"]`, ReadFrom: "a/t:token"},
		{Name: "held", Address: `tempo_token.this["c"]`, ReadFrom: "a/u:token"},
		{Name: "never-made", Address: `tempo_token.this["d"]`, ReadFrom: "a/v:token"},
	}}
	state := map[string]TokenSecret{"c": {TokenName: "held"}}
	tfvars := []byte(`{"allowed_endpoints": ["127.0.0.0/8"]}`)

	// The admin API refuses one revocation.
	emu.InjectFault(emulator.Fault{Method: http.MethodDelete, Path: adminapi.BasePath + "/tokens/old-2", Status: http.StatusForbidden, Times: -1})
	_, err := r.revokePending(ctx, &rec, state, tfvars, false)
	if err == nil || !strings.Contains(err.Error(), "old-2") || !strings.Contains(err.Error(), "still live") {
		t.Fatalf("revokePending = %v, want the failure named", err)
	}
	if active(t, admin, "old-1") || !active(t, admin, "old-2") || !active(t, admin, "held") {
		t.Error("wrong tokens revoked")
	}
	stored, err := readRecord(ctx, r.Kube, r.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Revocations) != 1 || stored.Revocations[0].Name != "old-2" {
		t.Errorf("record after a failed revocation: %+v", stored.Revocations)
	}

	// The next run revokes what is left, after its overlap.
	emu.Reset()
	r.Cfg.RotationOverlap = 50 * time.Millisecond
	start := time.Now()
	if n, err := r.revokePending(ctx, &stored, state, tfvars, true); err != nil || n != 1 {
		t.Fatalf("revoked %d: %v", n, err)
	}
	if time.Since(start) < r.Cfg.RotationOverlap {
		t.Error("revoked before the overlap passed")
	}
	if active(t, admin, "old-2") || !active(t, admin, "held") {
		t.Error("the retry did not revoke old-2, or revoked a token in the state")
	}
	stored, _ = readRecord(ctx, r.Kube, r.Cfg)
	if len(stored.Revocations) != 0 {
		t.Errorf("record after the retry: %+v", stored.Revocations)
	}
	if !strings.Contains(out.String(), "1 replaced tokens: revoked in 50ms") {
		t.Errorf("output: %s", out.String())
	}
}

// The admin token goes only where the values allow, from the runner too.
func TestRevokePendingKeepsToAllowedEndpoints(t *testing.T) {
	r, _, admin, _ := revokeEnv(t, "old-1")
	rec := record{Revocations: []pendingRevocation{{Name: "old-1", Address: `tempo_token.this["a"]`}}}
	_, err := r.revokePending(context.Background(), &rec, nil, []byte(`{"allowed_endpoints": [".svc"]}`), false)
	if err == nil || !active(t, admin, "old-1") {
		t.Fatalf("revokePending sent the admin token to an endpoint not allowed: %v", err)
	}
	if len(rec.Revocations) != 1 {
		t.Errorf("a token not revoked left the record: %+v", rec.Revocations)
	}
}

// A run killed outright loses the tokens its apply created; the next run
// finds them by the names the module generates, their policy and their
// age, and never takes anyone else's or one the state holds.
func TestOrphansOfAKilledRun(t *testing.T) {
	r, _, admin, _ := revokeEnv(t, "otel-abcdefgh2345", "otel-heldheldheld", "otel-short", "other-abcdefgh2345", "otelx-abcdefgh2345")
	ctx := context.Background()
	if _, err := admin.CreateAccessPolicy(ctx, adminapi.AccessPolicy{Name: "r", Scopes: []string{"traces:read"}, Realms: []adminapi.Realm{{Tenant: "team-a", Cluster: "tempo"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateToken(ctx, adminapi.Token{Name: "otel-otherpolicy1", AccessPolicy: "r"}); err != nil {
		t.Fatal(err)
	}
	tfvars := []byte(`{"allowed_endpoints": ["127.0.0.0/8"], "tokens": {
		"otel":  {"name_prefix": "otel", "access_policy": "w", "secret": {"namespace": "a", "name": "s", "key": "token"}},
		"fixed": {"name": "other-abcdefgh2345", "access_policy": "w"}
	}}`)
	state := map[string]TokenSecret{"otel": {TokenName: "otel-heldheldheld"}}

	got, err := r.orphansOf(ctx, time.Now().Add(-time.Minute), state, tfvars)
	if err != nil {
		t.Fatal(err)
	}
	want := pendingRevocation{Name: "otel-abcdefgh2345", Address: `tempo_token.this["otel"]`, ReadFrom: "a/s:token"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("orphans = %+v, want %+v", got, want)
	}
	// Tokens older than the killed run are not its own.
	if got, err := r.orphansOf(ctx, time.Now().Add(time.Hour), state, tfvars); err != nil || len(got) != 0 {
		t.Errorf("orphans of a run that started later = %+v, %v", got, err)
	}
}

func TestGeneratedFrom(t *testing.T) {
	for name, want := range map[string]bool{
		"otel-abcdefgh2345":  true,
		"otel-abcdefgh234":   false,
		"otel-abcdefgh23456": false,
		"otel-ABCDEFGH2345":  false,
		"otelabcdefgh2345":   false,
		"otel-x-abcdefgh234": false,
	} {
		if got := generatedFrom(name, "otel"); got != want {
			t.Errorf("generatedFrom(%q, otel) = %v", name, got)
		}
	}
	if !generatedFrom("team_abcdefgh2345", "team_") || !generatedFrom("team-abcdefgh2345", "team-") {
		t.Error("a prefix ending in _ or - gets no separator")
	}
}

// The record keeps what is still to be done about a killed run, and the
// revocations, across runs.
func TestRecordKeepsRevocationsAndSweep(t *testing.T) {
	kube := fake.NewClientset()
	ctx := context.Background()
	rec := record{
		Revocations: []pendingRevocation{{Name: "old-1", Address: `tempo_token.this["a"]`, ReadFrom: "a/s:token"}},
		SweepSince:  "2026-12-03T20:00:00Z",
	}
	if err := writeRecord(ctx, kube, testCfg, rec); err != nil {
		t.Fatal(err)
	}
	got, err := readRecord(ctx, kube, testCfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.SweepSince != rec.SweepSince || len(got.Revocations) != 1 || got.Revocations[0] != rec.Revocations[0] {
		t.Errorf("record read back = %+v, want %+v", got, rec)
	}
}

// A run stopped while it revokes forgets none of the tokens it did not
// get to.
func TestRevokePendingStoppedKeepsTheRest(t *testing.T) {
	r, _, admin, _ := revokeEnv(t, "old-1", "old-2")
	rec := record{Revocations: []pendingRevocation{{Name: "old-1"}, {Name: "old-2"}}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := r.revokePending(ctx, &rec, nil, []byte(`{"allowed_endpoints": ["127.0.0.0/8"]}`), false)
	if err == nil || n != 0 {
		t.Fatalf("revokePending with the run stopped = %d, %v", n, err)
	}
	if len(rec.Revocations) != 2 || !active(t, admin, "old-1") || !active(t, admin, "old-2") {
		t.Errorf("tokens not tried left the record: %+v", rec.Revocations)
	}
}
