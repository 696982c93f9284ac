package adminapi

import (
	"errors"
	"net/http"
	"testing"
)

// Which outcomes of an attempt leave open whether the server committed it.
func TestAttemptAmbiguity(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		err       error
		connected bool
		ambiguous bool
	}{
		{"connection refused", 0, errors.New("dial tcp: connection refused"), false, false},
		{"guard refusal", 0, &Error{kind: ErrEndpointRefused}, false, false},
		{"reset after connecting", 0, errors.New("connection reset by peer"), true, true},
		{"EOF after connecting", 0, errors.New("EOF"), true, true},
		{"200", 200, nil, true, false},
		{"400", 400, nil, true, false},
		{"409", 409, nil, true, false},
		{"429", 429, nil, true, false},
		{"500", 500, nil, true, true},
		{"501", 501, nil, true, false},
		{"502", 502, nil, true, true},
		{"503", 503, nil, true, false},
		{"504", 504, nil, true, true},
	} {
		x := &exchange{}
		x.connected.Store(tc.connected)
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
