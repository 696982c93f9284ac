package emulator

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestConcurrentCreatesAndUpdates(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.DataDir = t.TempDir() })
	e.client = &http.Client{} // keep-alive, for speed
	const workers, perWorker = 8, 15
	e.mkTenant("shared", "tempo")

	var wg sync.WaitGroup
	var updates atomic.Int64
	errs := make(chan string, workers*perWorker*4)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				n := fmt.Sprintf("t-%02d-%02d", w, i)
				// Every worker also races for the same name: exactly one wins.
				race := fmt.Sprintf("race-%02d", i)
				if r := e.admin("POST", api+"/tenants", map[string]any{"name": n, "cluster": "tempo"}); r.status != 201 || r.etag() != `"1"` {
					errs <- fmt.Sprintf("create %s: %d %s", n, r.status, r.etag())
				}
				if r := e.admin("POST", api+"/accesspolicies", map[string]any{"name": n, "realms": []any{rlm(n, "tempo")}, "scopes": []any{"traces:write"}}); r.status != 201 {
					errs <- fmt.Sprintf("create policy %s: %d", n, r.status)
				}
				if r := e.admin("POST", api+"/tenants", map[string]any{"name": race, "cluster": "tempo"}); r.status != 201 && r.status != 409 {
					errs <- fmt.Sprintf("race %s: %d", race, r.status)
				}
				// Optimistic update of a shared object: read, then PUT with
				// the version read; losers get 412 and nothing else.
				g := e.admin("GET", api+"/tenants/shared", nil)
				r := e.adminIfMatch("PUT", api+"/tenants/shared", g.etag(), map[string]any{"cluster": "tempo", "display_name": n})
				switch r.status {
				case 200:
					updates.Add(1)
				case 412:
				default:
					errs <- fmt.Sprintf("update shared: %d %s", r.status, r.body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}

	r := e.want(e.admin("GET", api+"/tenants", nil), 200)
	names := listNames(t, r, "tenant")
	var created, races int
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "t-"):
			created++
		case strings.HasPrefix(n, "race-"):
			races++
		}
	}
	if created != workers*perWorker || races != perWorker {
		t.Errorf("listed %d created and %d raced tenants, want %d and %d", created, races, workers*perWorker, perWorker)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "t-") || strings.HasPrefix(n, "race-") {
			if g := e.want(e.admin("GET", api+"/tenants/"+n, nil), 200); g.etag() != `"1"` {
				t.Errorf("%s has ETag %s, want \"1\"", n, g.etag())
			}
		}
	}
	g := e.want(e.admin("GET", api+"/tenants/shared", nil), 200)
	v, _ := strconv.Unquote(g.etag())
	if want := strconv.FormatInt(1+updates.Load(), 10); v != want {
		t.Errorf("shared version %s after %d successful updates, want %s", v, updates.Load(), want)
	}
	if updates.Load() == 0 {
		t.Error("no update succeeded")
	}
}
