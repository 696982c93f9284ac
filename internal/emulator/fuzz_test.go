package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/; `go test` runs them,
// and `go test -fuzz '^FuzzName$'` searches further from them.

func bodyRequest(data []byte) *http.Request {
	return httptest.NewRequest(http.MethodPost, api+"/accesspolicies", bytes.NewReader(data))
}

// FuzzDecodeBody checks decodeBody on arbitrary bytes: it never panics,
// accepts only a single JSON object, refuses anything over maxBody, names
// fields the way clients parse them, and what it accepts survives a round
// trip through the encoder.
func FuzzDecodeBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var b policyBody
		err := decodeBody(bodyRequest(data), &b)
		if err != nil {
			checkDecodeError(t, data, err)
			return
		}
		if !json.Valid(data) || !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")) {
			t.Fatalf("accepted a body that is not one JSON object: %q", data)
		}

		var enc bytes.Buffer
		e := json.NewEncoder(&enc)
		e.SetEscapeHTML(false)
		if err := e.Encode(b); err != nil {
			t.Fatalf("accepted body does not encode: %v", err)
		}
		if enc.Len() <= maxBody {
			var again policyBody
			if err := decodeBody(bodyRequest(enc.Bytes()), &again); err != nil {
				t.Fatalf("re-encoded body %s refused: %v", enc.Bytes(), err)
			}
			if !reflect.DeepEqual(b, again) {
				t.Fatalf("round trip changed the body:\n%#v\n%#v", b, again)
			}
		}

		// The limit is exact: padded with whitespace to maxBody bytes the
		// body means the same, one byte more and it is refused unread.
		padded := make([]byte, maxBody+1)
		copy(padded, data)
		for i := len(data); i < len(padded); i++ {
			padded[i] = ' '
		}
		var same policyBody
		if err := decodeBody(bodyRequest(padded[:maxBody]), &same); err != nil || !reflect.DeepEqual(b, same) {
			t.Fatalf("body padded to the limit: %v, %#v", err, same)
		}
		if err := decodeBody(bodyRequest(padded), &same); err == nil || err.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("body one byte over the limit: %v", err)
		}
	})
}

func checkDecodeError(t *testing.T, data []byte, err *apiError) {
	t.Helper()
	switch {
	case err.msg == "":
		t.Fatalf("error without a message for %q", data)
	case err.status == http.StatusRequestEntityTooLarge:
		if len(data) <= maxBody {
			t.Fatalf("413 for a body of %d bytes", len(data))
		}
	case err.status != http.StatusBadRequest:
		t.Fatalf("status %d for %q", err.status, data)
	case len(data) > maxBody:
		t.Fatalf("oversize body got %d, want 413", err.status)
	}
	if err.field != "" && !strings.HasPrefix(err.msg, err.field+": ") {
		t.Fatalf("error %q does not start with its field %q", err.msg, err.field)
	}
}

// FuzzIfMatch checks precondition.check against the rule: after trimming
// HTTP whitespace, If-Match is accepted exactly when it is the current
// version in decimal, bare, quoted or quoted with W/; a missing header is
// 428 and anything else 412.
func FuzzIfMatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string, version int64) {
		check := func(v string) *apiError {
			r := httptest.NewRequest(http.MethodPut, api+"/tenants/x", nil)
			r.Header.Set("If-Match", v)
			return preconditionFrom(r, 0).check(version)
		}
		n := strconv.FormatInt(version, 10)
		forms := []string{n, `"` + n + `"`, `W/"` + n + `"`}

		err := check(value)
		trimmed := strings.Trim(value, " \t")
		switch {
		case trimmed == "":
			if err == nil || err.status != http.StatusPreconditionRequired {
				t.Fatalf("empty If-Match %q: %v, want 428", value, err)
			}
		case slices.Contains(forms, trimmed):
			if err != nil {
				t.Fatalf("If-Match %q refused for version %d: %v", value, version, err)
			}
		default:
			if err == nil {
				t.Fatalf("If-Match %q accepted for version %d", value, version)
			}
			if err.status != http.StatusPreconditionFailed || err.msg == "" {
				t.Fatalf("If-Match %q: status %d %q, want 412", value, err.status, err.msg)
			}
		}
		// Every form is accepted whatever whitespace surrounds it.
		pad := value[:len(value)-len(strings.TrimLeft(value, " \t"))]
		for _, form := range forms {
			if err := check(pad + form + pad); err != nil {
				t.Fatalf("If-Match %q refused for version %d: %v", pad+form+pad, version, err)
			}
		}
	})
}

// FuzzLoadState checks loadState on arbitrary bytes: it never panics, and
// either fails naming the file or yields a state New starts from, whose
// objects then read back over the API and survive the next restart.
func FuzzLoadState(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, stateFileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := loadState(dir)
		if err != nil {
			if st != nil {
				t.Fatal("loadState returned a state along with an error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name %s", err, path)
			}
			return
		}
		if st == nil {
			t.Fatal("loadState returned no state for an existing file")
		}
		if !json.Valid(data) {
			t.Fatalf("accepted a state file that is not one JSON value: %q", data)
		}

		srv, err := New(Options{AdminToken: testAdminToken, DataDir: dir, Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatalf("New refused a state loadState accepted: %v\n%s", err, data)
		}
		defer func() { _ = srv.Close() }()
		want := map[string]any{}
		for _, o := range st.Tenants {
			want["/tenants/"+o.Name] = o
			readBack(t, srv, "/tenants/"+o.Name, o.Version)
		}
		for _, o := range st.Policies {
			want["/accesspolicies/"+o.Name] = o
			readBack(t, srv, "/accesspolicies/"+o.Name, o.Version)
		}
		for _, o := range st.Tokens {
			want["/tokens/"+o.Name] = o
			readBack(t, srv, "/tokens/"+o.Name, o.Version)
		}

		// New saved the state at once; the next start must find it intact.
		again, err := loadState(dir)
		if err != nil {
			t.Fatalf("state saved by New does not load: %v", err)
		}
		got := map[string]any{}
		for _, o := range again.Tenants {
			got["/tenants/"+o.Name] = o
		}
		for _, o := range again.Policies {
			got["/accesspolicies/"+o.Name] = o
		}
		for _, o := range again.Tokens {
			got["/tokens/"+o.Name] = o
		}
		for k, v := range want {
			a, _ := json.Marshal(v)
			b, _ := json.Marshal(got[k])
			if !bytes.Equal(a, b) {
				t.Fatalf("%s changed across a restart:\n%s\n%s", k, a, b)
			}
		}
	})
}

func readBack(t *testing.T, srv *Server, path string, version int64) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.URL.Path = api + path // set directly: names are not URL-escaped here
	req.Header.Set("Authorization", adminAuth())
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") != `"`+strconv.FormatInt(version, 10)+`"` {
		t.Fatalf("GET %s after loading: %d ETag %s %s", path, rec.Code, rec.Header().Get("ETag"), rec.Body)
	}
}
