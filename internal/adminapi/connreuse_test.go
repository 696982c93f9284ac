package adminapi_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
	"github.com/tempo-tenancy/terraform-provider-tempo/internal/emulator"
)

// A CLI runs ten operations at once by default (-parallelism), and a large
// configuration keeps them coming in bursts. Every burst after the first
// must ride the connections the first one opened: a connection closed for
// want of an idle slot is dialled again, and the network guard resolves and
// checks the host again for it.
func TestConcurrentRequestsReuseConnections(t *testing.T) {
	emu, err := emulator.New(emulator.Options{AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(emu)
	var dialled atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialled.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })

	c := newClient(t, srv.URL)
	if _, err := c.CreateTenant(ctx, adminapi.Tenant{Name: "team-a", Cluster: "tempo"}); err != nil {
		t.Fatal(err)
	}
	const parallel, bursts = 16, 20
	for range bursts {
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(func() {
				if _, err := c.GetTenant(ctx, "team-a"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	// The first burst opens up to one connection per request; a few more
	// may be opened when a request starts before the connection of one
	// just answered is back in the pool. Without reuse it is about one per
	// request of every burst.
	if n := dialled.Load(); n > 2*parallel {
		t.Errorf("%d connections for %d bursts of %d requests: connections are not kept alive for reuse", n, bursts, parallel)
	}
}
