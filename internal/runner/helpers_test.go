package runner

import (
	"bytes"
	"os"
	"sync"
)

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }

// syncBuffer is a buffer safe to read while another goroutine writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
