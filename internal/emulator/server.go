package emulator

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
)

// Options configures a Server.
type Options struct {
	// AdminToken is the bootstrap admin token, with every right. Required.
	AdminToken string
	// Clusters names the clusters; default {"tempo"}. The first is the
	// cluster this emulator serves on the data path.
	Clusters []string
	// Control enables the /_emulator/ control surface.
	Control bool
	// DataDir, when set, makes every acknowledged write durable there.
	DataDir string
	// Now is the clock; default time.Now. Advance moves it forward.
	Now func() time.Time
	// Compat selects server variants where the contract's rule is a choice
	// or unknown; the zero value is strict. See ParseCompat.
	Compat Compat
	// RateLimit, when positive, limits authorized admin API requests to this
	// many per second, with bursts of up to RateBurst (zero: a tenth of a
	// second's worth, at least one). A request above it gets 429 with a
	// Retry-After, in whole seconds, of when a request would pass; it is
	// not handled and takes no share of the rate. The limit runs on the
	// emulator's clock (Now, moved by Advance). The data path and the
	// control surface are never limited.
	RateLimit float64
	RateBurst int
}

// Server is an http.Handler serving the admin API, the data-path routes and,
// if enabled, the control surface. It is safe for concurrent use.
type Server struct {
	adminDigest [sha256.Size]byte
	thisCluster string
	control     bool
	compat      Compat
	clock       func() time.Time
	offset      atomic.Int64 // nanoseconds added by Advance
	closed      atomic.Bool
	store       *store
	faults      *faultSet
	statuses    *statusCounts
	limiter     *rateLimiter // nil: no rate limit
}

// New builds a Server. With a DataDir it loads the state saved there; an
// unreadable or corrupt state file is an error naming the file, because
// silently starting empty would make tests pass against lost data.
func New(opts Options) (*Server, error) {
	if opts.AdminToken == "" {
		return nil, errors.New("emulator: an admin token is required")
	}
	clusters := opts.Clusters
	if len(clusters) == 0 {
		clusters = []string{"tempo"}
	}
	seen := map[string]bool{}
	for _, c := range clusters {
		if c == "" || strings.ContainsAny(c, "/ \t\r\n,") {
			return nil, fmt.Errorf("emulator: invalid cluster name %q", c)
		}
		if seen[c] {
			return nil, fmt.Errorf("emulator: duplicate cluster name %q", c)
		}
		seen[c] = true
	}
	s := &Server{
		adminDigest: sha256.Sum256([]byte(opts.AdminToken)),
		thisCluster: clusters[0],
		control:     opts.Control,
		compat:      opts.Compat,
		clock:       opts.Now,
		store:       newStore(),
		faults:      newFaultSet(),
		statuses:    newStatusCounts(),
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	limiter, err := newRateLimiter(opts.RateLimit, opts.RateBurst, s.exactNow)
	if err != nil {
		return nil, err
	}
	s.limiter = limiter

	var loaded *stateFile
	if opts.DataDir != "" {
		var err error
		if loaded, err = loadState(opts.DataDir); err != nil {
			return nil, err
		}
	}
	now := s.now()
	for _, c := range clusters {
		created := now
		if t, ok := loaded.clusterCreated(c); ok {
			created = t
		}
		s.store.clusters = append(s.store.clusters, clusterRec{Name: c, CreatedAt: created})
	}
	loaded.restoreInto(s.store)
	if _, ok := s.store.tenants.rows[systemTenant]; !ok {
		s.store.tenants.rows[systemTenant] = tenantRec{
			meta: meta{
				Name:        systemTenant,
				DisplayName: systemTenant,
				Status:      statusActive,
				CreatedAt:   now,
				Version:     1,
			},
			Cluster: s.thisCluster,
		}
	}
	if opts.DataDir != "" {
		dir := opts.DataDir
		s.store.save = func(st *stateFile) error { return saveState(dir, st) }
		// Saved at once so cluster and __system__ timestamps are stable
		// across restarts, not only after the first write.
		if err := s.store.save(s.store.snapshot()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ServeHTTP dispatches to the control surface, then counts the request and,
// once it is answered, its status; see serveCounted.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/_emulator" || strings.HasPrefix(p, "/_emulator/") {
		if !s.control {
			// JSON whatever the variant, like the control surface itself.
			writeJSONError(w, errStatus(http.StatusNotFound, "no route for %s", p))
			return
		}
		s.serveControl(w, r)
		return
	}
	if s.closed.Load() {
		s.writeError(w, errStatus(http.StatusServiceUnavailable, "emulator is closed"))
		return
	}
	start := time.Now()
	defer func() { s.faults.done(time.Since(start)) }()
	s.faults.count(r)
	rec := &statusRecorder{ResponseWriter: w, counts: s.statuses}
	defer s.statuses.add(rec) // deferred: a dropped connection aborts the handler
	s.serveCounted(rec, r)
	rec.returned = true
}

// serveCounted authorizes a request if it is for the admin API, applies any
// matching fault, and serves the admin API or the data path.
func (s *Server) serveCounted(w http.ResponseWriter, r *http.Request) {
	if isAdminPath(r.URL.Path) {
		// Before faults: a fault is meant for the client under test, and a
		// stray request without the right credential must neither use it up
		// nor learn anything beyond its 401 or 403.
		if err := s.authorizeAdmin(r); err != nil {
			s.writeError(w, err)
			return
		}
		// Rate limiting too: a stray request must not use up the client's
		// share of the rate. A refused request reaches no fault and no
		// handler.
		if retryAfter, ok := s.limiter.admit(); !ok {
			s.refuse(w, retryAfter)
			return
		}
	}
	if f, ok := s.faults.claim(r); ok && s.applyFault(w, r, f) {
		return
	}
	s.route(w, r)
}

func isAdminPath(p string) bool { return p == basePath || strings.HasPrefix(p, basePath+"/") }

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case isAdminPath(p):
		if s.compat.OffsetTimes {
			w = offsetTimesWriter{w}
		}
		s.serveAdmin(w, r)
	case p == "/otlp/v1/traces" || p == "/api/search":
		s.serveData(w, r)
	default:
		s.writeError(w, errStatus(http.StatusNotFound, "no route for %s", p))
	}
}

// Close stops the server from accepting further writes, so a test that
// reopens the same DataDir cannot race a stale instance writing to it.
func (s *Server) Close() error {
	s.closed.Store(true)
	s.store.mu.Lock()
	s.store.closed = true
	s.store.mu.Unlock()
	return nil
}

// Advance moves the emulator's clock forward, e.g. past a token's expiration.
// A negative d is ignored and the total offset saturates instead of wrapping:
// a clock that moved back would bring expired tokens back to life.
func (s *Server) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	for {
		old := s.offset.Load()
		next := old + int64(d)
		if next < old {
			next = math.MaxInt64
		}
		if s.offset.CompareAndSwap(old, next) {
			return
		}
	}
}

// exactNow is the emulator's clock at full precision, for the rate limit.
func (s *Server) exactNow() time.Time {
	return s.clock().Add(time.Duration(s.offset.Load()))
}

// now has second precision because every time on the wire does; comparing
// at a finer grain would make expiry disagree with what clients read.
func (s *Server) now() time.Time {
	return s.exactNow().UTC().Truncate(time.Second)
}

// offsetTimesWriter spells the instants of a JSON body with "+00:00"
// instead of "Z" (the "offset-times" variant).
type offsetTimesWriter struct{ http.ResponseWriter }

var utcInstant = regexp.MustCompile(`"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?)Z"`)

func (w offsetTimesWriter) Write(b []byte) (int, error) {
	if _, err := w.ResponseWriter.Write(utcInstant.ReplaceAll(b, []byte(`"${1}+00:00"`))); err != nil {
		return 0, err
	}
	return len(b), nil
}
