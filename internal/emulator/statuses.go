package emulator

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// outcomeDropped is the outcome of a request that got no answer: the
// connection was closed or the handler aborted (the drop faults).
const outcomeDropped = "dropped"

// statusCounts counts the answers to admin and data-path requests by
// status, so that a test or a benchmark can tell how many were refused (429
// above all) from how many were served.
type statusCounts struct {
	mu     sync.Mutex
	counts map[string]int
}

func newStatusCounts() *statusCounts { return &statusCounts{counts: map[string]int{}} }

// add records the outcome of one request once its handler has finished,
// normally or by a panic (http.ErrAbortHandler), unless it was recorded
// already when its connection was closed.
func (sc *statusCounts) add(rec *statusRecorder) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if rec.counted {
		return
	}
	rec.counted = true
	sc.counts[rec.outcome()]++
}

func (sc *statusCounts) snapshot() map[string]int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	out := make(map[string]int, len(sc.counts))
	for k, v := range sc.counts {
		out[k] = v
	}
	return out
}

func (sc *statusCounts) reset() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.counts = map[string]int{}
}

// StatusCounts returns how many admin and data-path requests were answered
// with each status ("201", "429", …), since start or Reset. A request
// answered with no status at all (a dropped connection) counts as
// "dropped". Summed, it equals the sum of Counts once no request is in
// flight.
func (s *Server) StatusCounts() map[string]int { return s.statuses.snapshot() }

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	counts   *statusCounts
	status   int
	hijacked bool
	returned bool // the handler returned rather than panicked
	counted  bool // guarded by counts.mu
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Hijack is here rather than left to Unwrap so that a dropped connection is
// known to be one, and counted before it is closed: a client that sees the
// close must find it counted, though the handler has not returned yet.
func (w *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return conn, rw, err
	}
	w.hijacked = true
	return &countedConn{Conn: conn, rec: w}, rw, nil
}

// countedConn records its request as dropped when it is closed.
type countedConn struct {
	net.Conn
	rec *statusRecorder
}

func (c *countedConn) Close() error {
	c.rec.counts.add(c.rec)
	return c.Conn.Close()
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outcome is the status the client got: the one written, 200 when the
// handler returned without writing (net/http then sends 200), or
// "dropped".
func (w *statusRecorder) outcome() string {
	switch {
	case w.hijacked || !w.returned:
		return outcomeDropped
	case w.status == 0:
		return strconv.Itoa(http.StatusOK)
	}
	return strconv.Itoa(w.status)
}
