package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// attempt is one request the recorder passed on: which request it is (the
// same key for every retry of it), when it arrived, and what the server
// answered and when.
type attempt struct {
	key        string
	arrived    time.Time
	answered   time.Time
	status     int
	retryAfter time.Duration // from the answer's Retry-After, whole seconds
}

// recorder is a reverse proxy between the CLI's provider and the emulator
// that remembers every attempt, so that the retries can be told apart and
// timed from outside the client.
type recorder struct {
	proxy *httputil.ReverseProxy

	mu       sync.Mutex
	attempts []attempt
}

func newRecorder(target *url.URL) *recorder {
	rec := &recorder{}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	rec.proxy = &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: transport,
	}
	rec.proxy.ModifyResponse = func(resp *http.Response) error {
		a := resp.Request.Context().Value(attemptKey{}).(*attempt)
		a.answered, a.status = time.Now(), resp.StatusCode
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			a.retryAfter = time.Duration(s) * time.Second
		}
		return nil
	}
	return rec
}

type attemptKey struct{}

// ServeHTTP keys the request by method, path and a digest of its body: the
// client sends a retry byte for byte as the first attempt.
func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := &attempt{arrived: time.Now()}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	a.key = r.Method + " " + r.URL.RequestURI() + " " + string(sum[:8])
	rec.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), attemptKey{}, a)))
	rec.mu.Lock()
	rec.attempts = append(rec.attempts, *a)
	rec.mu.Unlock()
}

func (rec *recorder) snapshot() []attempt {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.attempts)
}
