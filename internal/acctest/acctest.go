// Package acctest holds what the acceptance tests share: an in-process
// emulator of the admin API, the provider factories, and the CLI under test.
//
// The CLI is chosen with terraform-plugin-testing's own variables:
// TF_ACC_TERRAFORM_PATH names the binary; for OpenTofu also set
// TF_ACC_PROVIDER_HOST=registry.opentofu.org. `make test` runs the
// acceptance tests once per CLI in bin/.
package acctest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/provider"
)

// AdminToken is the emulator's bootstrap admin token in tests.
const AdminToken = "acctest-admin-token-6f1d0c2a9e"

// Cluster is the emulator's cluster in tests.
const Cluster = "tempo"

// Env is one emulator serving one test on loopback.
type Env struct {
	Emulator *emulator.Server
	URL      string
	Client   *adminapi.Client // an admin client, for out-of-band changes

	offset atomic.Int64 // how far Advance moved the shared clock
}

// Now is the clock the emulator and the provider of Factories share.
func (e *Env) Now() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }

// Advance moves the shared clock forward for the emulator and the provider
// alike, such as into a token's rotation window.
func (e *Env) Advance(d time.Duration) {
	e.offset.Add(int64(d))
}

// Factories serve the provider in-process, judging time by e's clock.
func (e *Env) Factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"tempo": withError(provider.Protocol6(provider.NewWithClock("test", e.Now))),
	}
}

// EnvCompat names the environment variable that selects the emulator's
// server variants for every acceptance test (emulator.ParseCompat syntax,
// such as "all"); `make testacc` runs the suite with it empty and with "all".
const EnvCompat = "TEMPO_EMULATOR_COMPAT"

// Options tune Start.
type Options struct {
	// Clusters names the emulator's clusters; default {Cluster}.
	Clusters []string
	// Compat adds server variants to those of EnvCompat.
	Compat string
	// Wrap, when set, sits between the client and the emulator, so a test
	// can make the server answer what the emulator never would.
	Wrap func(http.Handler) http.Handler
}

// Start serves a fresh emulator for t and stops it when t ends.
func Start(t *testing.T, clusters ...string) *Env {
	t.Helper()
	return StartWith(t, Options{Clusters: clusters})
}

// StartWith is Start with options.
func StartWith(t *testing.T, o Options) *Env {
	t.Helper()
	clusters := o.Clusters
	if len(clusters) == 0 {
		clusters = []string{Cluster}
	}
	// "strict" means no variant; a test's own variants add to the run's.
	var variants []string
	for _, v := range []string{os.Getenv(EnvCompat), o.Compat} {
		if v != "" && v != "strict" {
			variants = append(variants, v)
		}
	}
	compat, err := emulator.ParseCompat(strings.Join(variants, ","))
	if err != nil {
		t.Fatalf("%s: %v", EnvCompat, err)
	}
	env := &Env{}
	emu, err := emulator.New(emulator.Options{AdminToken: AdminToken, Clusters: clusters, Control: true, Compat: compat, Now: env.Now})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = emu
	if o.Wrap != nil {
		h = o.Wrap(emu)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	c, err := adminapi.New(adminapi.Config{URL: srv.URL, Token: AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	env.Emulator, env.URL, env.Client = emu, srv.URL, c
	return env
}

// ProviderConfig is a provider block for this emulator, with the cluster
// set so that no discovery request muddles request counts.
func (e *Env) ProviderConfig() string {
	return fmt.Sprintf(`
provider "tempo" {
  url     = %q
  token   = %q
  cluster = %q
}
`, e.URL, AdminToken, Cluster)
}

// withError adapts a server constructor to terraform-plugin-testing's
// factories.
func withError(f func() tfprotov6.ProviderServer) func() (tfprotov6.ProviderServer, error) {
	return func() (tfprotov6.ProviderServer, error) { return f(), nil }
}

// Factories serve the provider in-process to the CLI under test.
func Factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"tempo": withError(provider.Protocol6(provider.New("test"))),
	}
}

// IsOpenTofu reports whether the CLI under test is OpenTofu.
func IsOpenTofu() bool {
	return strings.HasPrefix(filepath.Base(os.Getenv("TF_ACC_TERRAFORM_PATH")), "tofu")
}

// Count returns how many requests the emulator received for "METHOD path",
// where path is relative to the admin API base.
func (e *Env) Count(method, path string) int {
	return e.Emulator.Counts()[method+" "+adminapi.BasePath+path]
}

// PlanCheckFunc runs f as a plan check. Used as a PreApply check, it marks
// the moment between plan and apply, for request counts.
type PlanCheckFunc func() error

// CheckPlan implements plancheck.PlanCheck.
func (f PlanCheckFunc) CheckPlan(_ context.Context, _ plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = f()
}
