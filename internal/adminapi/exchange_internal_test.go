package adminapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
)

// Which outcomes of an attempt leave open whether the server committed it.
func TestAttemptAmbiguity(t *testing.T) {
	urlErr := func(err error) error { return &url.Error{Op: "Post", URL: "http://admin.example/tokens", Err: err} }
	for _, tc := range []struct {
		name      string
		status    int
		err       error
		ambiguous bool
	}{
		{"connection refused", 0, urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), false},
		{"dial timeout", 0, urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}), false},
		{"no such host", 0, urlErr(&net.DNSError{Err: "no such host", Name: "admin.example", IsNotFound: true}), false},
		{"no address", 0, urlErr(fmt.Errorf("admin.example %w", errNoAddress)), false},
		{"guard refusal", 0, urlErr(&Error{kind: ErrEndpointRefused}), false},
		{"certificate not trusted", 0, urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), false},
		{"TLS alert from the server", 0, urlErr(tls.AlertError(42)), true},
		{"not TLS", 0, urlErr(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), false},
		{"reset after connecting", 0, urlErr(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"EOF after connecting", 0, urlErr(io.EOF), true},
		{"timeout awaiting headers", 0, urlErr(context.DeadlineExceeded), true},
		{"cancelled", 0, urlErr(context.Canceled), true},
		{"200", 200, nil, false},
		{"400", 400, nil, false},
		{"409", 409, nil, false},
		{"429", 429, nil, false},
		{"500", 500, nil, true},
		{"501", 501, nil, false},
		{"502", 502, nil, true},
		{"503", 503, nil, false},
		{"504", 504, nil, true},
	} {
		x := &exchange{}
		var resp *http.Response
		if tc.err == nil {
			resp = &http.Response{StatusCode: tc.status}
		}
		x.observe(resp, tc.err)
		if x.ambiguous != tc.ambiguous {
			t.Errorf("%s: ambiguous = %v, want %v", tc.name, x.ambiguous, tc.ambiguous)
		}
	}
}
