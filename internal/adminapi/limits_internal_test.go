package adminapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// A response over the size limit is an error that says so, not the
// "unexpected end of JSON input" of a body cut short.
func TestResponseOverTheLimit(t *testing.T) {
	body := `{"type":"tenant","items":[` + strings.Repeat(`{"name":"team-a","cluster":"tempo"},`, 10) + `{"name":"x"}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	c.maxBody = int64(len(body))
	if _, err := c.ListTenants(context.Background(), false); err != nil {
		t.Fatalf("a body of exactly the limit: %v", err)
	}
	c.maxBody = int64(len(body)) - 1
	_, err = c.ListTenants(context.Background(), false)
	want := "larger than " + strconv.Itoa(len(body)-1) + " bytes"
	if !errors.Is(err, ErrUnexpected) || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want ErrUnexpected saying %q", err, want)
	}
}
