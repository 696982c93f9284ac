package emulator

import (
	"bytes"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault makes matching requests misbehave the way a real deployment does
// during leader fail-over, rate limiting or a lost network path.
//
// On the admin API only requests that pass authorization match: one answered
// 401 or 403 leaves the fault for the client it was meant for. Data-path
// requests match before their credentials are checked.
//
// Drop and CommitThenDrop need a connection that can be hijacked (a real
// net/http server such as httptest.NewServer, HTTP/1.x); on any other
// ResponseWriter they abort the handler with http.ErrAbortHandler.
type Fault struct {
	// Method matches the request method; "" matches any.
	Method string `json:"method"`
	// Path is an exact path, or a prefix when it ends in "*".
	Path string `json:"path"`
	// Status answers with this status and {"error":"injected fault"}
	// instead of handling the request.
	Status int `json:"status,omitempty"`
	// RetryAfter is the Retry-After header sent with Status.
	RetryAfter string `json:"retry_after,omitempty"`
	// Delay waits before answering; alone, the request is then handled
	// normally. A client that hangs up during the delay cancels it. Over
	// HTTP it is nanoseconds, or "delay_ms" in milliseconds.
	Delay time.Duration `json:"delay,omitempty"`
	// Drop closes the connection without a response; nothing is handled.
	Drop bool `json:"drop,omitempty"`
	// CommitThenDrop handles the request fully (state committed and
	// persisted), then closes the connection without sending the response.
	CommitThenDrop bool `json:"commit_then_drop,omitempty"`
	// Times is how many matching requests the fault applies to: 0 means 1,
	// -1 means forever.
	Times int `json:"times,omitempty"`
}

func (f Fault) matches(r *http.Request) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
		return false
	}
	if prefix, ok := strings.CutSuffix(f.Path, "*"); ok {
		return strings.HasPrefix(r.URL.Path, prefix)
	}
	return f.Path == r.URL.Path
}

// faultSet holds injected faults, request counts and handling time; its
// own lock keeps counting off the store's lock, which may be held across an
// fsync.
type faultSet struct {
	mu       sync.Mutex
	faults   []Fault // Times here is the remaining count; -1 is forever
	counts   map[string]int
	handled  int64         // requests whose handling finished
	handling time.Duration // their total handling time
	slowest  time.Duration
	conns    int64 // connections accepted, when the server reports them
}

func newFaultSet() *faultSet { return &faultSet{counts: map[string]int{}} }

func (fs *faultSet) add(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append(fs.faults, f)
}

// count records a request that arrived, whether or not it gets further.
func (fs *faultSet) count(r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.counts[r.Method+" "+r.URL.Path]++
}

// claim takes the first matching fault under the lock, so two concurrent
// requests can never both consume a fault meant for one.
func (fs *faultSet) claim(r *http.Request) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if !f.matches(r) {
			continue
		}
		if f.Times > 0 {
			fs.faults[i].Times--
			if fs.faults[i].Times == 0 {
				fs.faults = append(fs.faults[:i], fs.faults[i+1:]...)
			}
		}
		return f, true
	}
	return Fault{}, false
}

func (fs *faultSet) snapshot() map[string]int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make(map[string]int, len(fs.counts))
	for k, v := range fs.counts {
		out[k] = v
	}
	return out
}

// done records how long the emulator spent on one request.
func (fs *faultSet) done(d time.Duration) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.handled++
	fs.handling += d
	fs.slowest = max(fs.slowest, d)
}

func (fs *faultSet) reset() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = nil
	fs.counts = map[string]int{}
	fs.handled, fs.handling, fs.slowest, fs.conns = 0, 0, 0, 0
}

// Stats is how much work the emulator did since it started or was reset:
// a benchmark reads it to tell the emulator's share of a run from the
// client's.
type Stats struct {
	// Requests is how many admin and data-path requests were handled to the
	// end (the control surface is never counted).
	Requests int64 `json:"requests"`
	// HandlingSeconds is the time the emulator spent in them in total, from
	// the handler's start (headers read) to its return (answer written, an
	// injected delay included); SlowestSeconds the longest of them.
	HandlingSeconds float64 `json:"handling_seconds"`
	SlowestSeconds  float64 `json:"slowest_seconds"`
	// Connections is how many connections the HTTP server accepted, when
	// it reports them through ConnState (the standalone server does): a
	// client that keeps its connections alive opens few.
	Connections int64 `json:"connections"`
}

func (fs *faultSet) stats() Stats {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return Stats{Requests: fs.handled, HandlingSeconds: fs.handling.Seconds(), SlowestSeconds: fs.slowest.Seconds(), Connections: fs.conns}
}

// ConnState counts the connections an http.Server accepts; set it as the
// server's ConnState for Stats to report them.
func (s *Server) ConnState(_ net.Conn, state http.ConnState) {
	if state != http.StateNew {
		return
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.conns++
}

// Stats returns the handling time of the requests since start or Reset.
func (s *Server) Stats() Stats { return s.faults.stats() }

// InjectFault adds a fault; faults are tried in the order they were added.
func (s *Server) InjectFault(f Fault) { s.faults.add(f) }

// Counts returns how many admin and data-path requests arrived per
// "METHOD /path", including those a fault answered.
func (s *Server) Counts() map[string]int { return s.faults.snapshot() }

// Reset clears faults, counts and stats; objects are kept.
func (s *Server) Reset() {
	s.faults.reset()
	s.statuses.reset()
}

// applyFault reports whether the fault fully answered the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Delay > 0 {
		// The server only notices a client hanging up once the body has been
		// read, so buffer it first: a client that gives up during the delay
		// then cancels the request, and nothing is committed behind its back.
		// (commit_then_drop is the fault for "committed, answer lost".)
		data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return true
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch {
	case f.Status != 0:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		s.writeError(w, errStatus(f.Status, "injected fault"))
		return true
	case f.Drop:
		dropConnection(w)
		return true
	case f.CommitThenDrop:
		// The real handler runs to completion (and persists) first: this is
		// the "timeout after the server committed" case clients must survive.
		s.route(&discardResponse{header: http.Header{}}, r)
		dropConnection(w)
		return true
	}
	return false
}

// dropConnection closes the connection without a byte of response. When the
// connection cannot be hijacked (HTTP/2), aborting the handler resets the
// stream, which the client sees the same way.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

type discardResponse struct {
	header http.Header
	body   bytes.Buffer
	status int
}

func (d *discardResponse) Header() http.Header         { return d.header }
func (d *discardResponse) Write(p []byte) (int, error) { return d.body.Write(p) }
func (d *discardResponse) WriteHeader(status int)      { d.status = status }

// ---- control surface ----

type faultRequest struct {
	Fault
	// Milliseconds are easier to write by hand (curl, scripts) than
	// time.Duration's nanoseconds.
	DelayMS int64 `json:"delay_ms,omitempty"`
}

type clockRequest struct {
	AdvanceSeconds *float64 `json:"advance_seconds"`
}

// maxAdvance bounds one advance of the clock. Tests need years at most, and
// far larger values overflow time.Duration (about 292 years) on the way in,
// which used to move the clock into the past.
const maxAdvance = 100 * (365*24 + 6) * time.Hour

// advanceFromSeconds refuses what cannot be a forward move of the clock;
// NaN fails every comparison, so it is checked on its own.
func advanceFromSeconds(secs float64) (time.Duration, *apiError) {
	if math.IsNaN(secs) || secs < 0 || secs > maxAdvance.Seconds() {
		return 0, invalid("advance_seconds", "must be a number of seconds from 0 to %.0f (100 years), got %v", maxAdvance.Seconds(), secs)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	route := strings.TrimPrefix(r.URL.Path, "/_emulator/")
	want := http.MethodPost
	if route == "counts" || route == "stats" {
		want = http.MethodGet
	}
	switch route {
	case "faults", "counts", "stats", "reset", "clock":
	default:
		writeJSONError(w, errStatus(http.StatusNotFound, "no route for %s", r.URL.Path))
		return
	}
	if r.Method != want {
		writeJSONError(w, methodNotAllowed(w, r, want))
		return
	}
	switch route {
	case "faults":
		var fr faultRequest
		if err := decodeBody(r, &fr); err != nil {
			writeJSONError(w, err)
			return
		}
		if fr.DelayMS > 0 {
			fr.Delay = time.Duration(fr.DelayMS) * time.Millisecond
		}
		if fr.Path == "" || fr.Times < -1 || fr.Delay < 0 || (fr.Status != 0 && (fr.Status < 100 || fr.Status > 599)) {
			writeJSONError(w, errStatus(http.StatusBadRequest, "a fault needs a path, times >= -1, delay >= 0 and a valid status"))
			return
		}
		s.InjectFault(fr.Fault)
		w.WriteHeader(http.StatusNoContent)
	case "counts":
		switch by := r.URL.Query().Get("by"); by {
		case "", "route":
			writeJSON(w, http.StatusOK, 0, s.Counts())
		case "status":
			writeJSON(w, http.StatusOK, 0, s.StatusCounts())
		default:
			writeJSONError(w, invalid("by", "must be route or status, got %q", by))
		}
	case "stats":
		writeJSON(w, http.StatusOK, 0, s.Stats())
	case "reset":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case "clock":
		var cr clockRequest
		if err := decodeBody(r, &cr); err != nil {
			writeJSONError(w, err)
			return
		}
		if cr.AdvanceSeconds == nil {
			writeJSONError(w, invalid("advance_seconds", "required"))
			return
		}
		d, err := advanceFromSeconds(*cr.AdvanceSeconds)
		if err != nil {
			writeJSONError(w, err)
			return
		}
		s.Advance(d)
		writeJSON(w, http.StatusOK, 0, map[string]string{"now": formatTime(s.now())})
	}
}
