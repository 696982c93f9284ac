package provider_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/acctest"
)

// A provider process serves every object of a run, a call or more per
// object and phase; what it keeps of a call once the call has returned
// grows with the objects until the CLI stops it, and a runner pod with a
// memory limit is killed mid-apply. The provider runs here as the CLI runs
// it, a process of its own, and reports the largest heap a collection
// found live in it: through the refresh and update of some hundreds of
// tenants, no more than the few MB a process holds whatever it served.
// (The plugin framework keeps the context of every call, with the
// per-call loggers, some 17 KB a call: a 33 MB peak here without the
// server of Protocol6.)
func TestAccProviderKeepsNothingOfItsCalls(t *testing.T) {
	env := acctest.Start(t)
	cli := acctest.NewCLI(t)
	profiles := t.TempDir()
	cli.Setenv("TEMPO_PROVIDER_PPROF_DIR", profiles)
	const objects = 500
	config := func(version int) string {
		return acctest.RequiredProviders + env.ProviderConfig() + fmt.Sprintf(`
resource "tempo_tenant" "t" {
  count        = %d
  name         = format("team-%%03d", count.index)
  display_name = "Team ${count.index} v%d"
}
`, objects, version)
	}
	cli.WriteFile("main.tf", config(1))
	cli.MustRun("apply", "-auto-approve")
	// A refresh (GET) and an update (PUT) of every tenant.
	cli.WriteFile("main.tf", config(2))
	cli.MustRun("apply", "-auto-approve")

	files, err := filepath.Glob(filepath.Join(profiles, "*.live-peak"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no provider process reported its largest live heap in %s (%v)", profiles, err)
	}
	var most uint64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		live, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		most = max(most, live)
	}
	t.Logf("%s: largest live heap of %d provider processes: %d KB", cli, len(files), most/1024)
	// A process that keeps nothing of its calls peaks at 3 to 6 MB here.
	if most > 10<<20 {
		t.Errorf("a provider process had %d KB of live heap over %d objects: it keeps something of every call", most/1024, objects)
	}
}
