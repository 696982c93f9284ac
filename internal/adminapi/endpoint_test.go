package adminapi_test

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// When one resolved address is refused by the guard and another fails to
// dial, the refusal is what the operator must see, and it is not retried:
// "connection refused, gave up after 5 attempts" would hide the cause.
func TestGuardRefusalIsNotHiddenByADialError(t *testing.T) {
	r := &countingResolver{addrs: map[string][]string{"admin.corp.example": {"203.0.113.10", "127.0.0.1"}}}
	c := newClient(t, "http://"+net.JoinHostPort("admin.corp.example", closedPort(t)), func(c *adminapi.Config) {
		c.Resolver = r
		c.MaxRetries = 3
	})
	_, err := c.ListClusters(ctx)
	if !errors.Is(err, adminapi.ErrEndpointRefused) || !strings.Contains(err.Error(), "203.0.113.10") {
		t.Fatalf("err = %v, want the guard's refusal of 203.0.113.10", err)
	}
	if n := r.lookups(); n != 1 {
		t.Fatalf("the refusal was retried: %d dials, want 1", n)
	}
}

// CheckEndpoint applies the guard's rules at plan time, sending nothing.
func TestCheckEndpoint(t *testing.T) {
	emu, srv := startEmulator(t)
	p := port(t, srv.URL)
	r := &countingResolver{addrs: map[string][]string{
		"tempo.example.com":         {"203.0.113.10"},
		"tempo-admin-api.tempo.svc": {"203.0.113.11"},
		"admin.corp.example":        {"10.0.0.5"},
		"mixed.corp.example":        {"203.0.113.12", "10.0.0.6"},
	}}
	for _, tc := range []struct {
		url     string
		allowed []string
		kind    error // nil: allowed
		want    string
	}{
		{"http://tempo.example.com", nil, adminapi.ErrEndpointRefused, "clear text"},
		{"https://tempo.example.com", nil, nil, ""},
		{"http://admin.corp.example", nil, nil, ""},
		{"http://tempo-admin-api.tempo.svc", nil, adminapi.ErrEndpointRefused, "clear text"},
		{"http://tempo-admin-api.tempo.svc", []string{".svc"}, adminapi.ErrEndpointRefused, "clear text"},
		{"https://tempo-admin-api.tempo.svc", []string{".svc"}, nil, ""},
		{"https://tempo.example.com", []string{".svc"}, adminapi.ErrEndpointRefused, "outside allowed_endpoints"},
		{"http://admin.corp.example", []string{"10.0.0.0/8"}, nil, ""},
		{"http://mixed.corp.example", nil, nil, ""}, // dialling uses 10.0.0.6 only
		{"https://nowhere.example", nil, adminapi.ErrConnection, "does not resolve"},
		{"https://127.0.0.1", nil, nil, ""},
	} {
		c := newClient(t, tc.url+":"+p, func(c *adminapi.Config) {
			c.Resolver = r
			c.AllowedEndpoints = tc.allowed
		})
		err := c.CheckEndpoint(ctx)
		switch {
		case tc.kind == nil && err != nil:
			t.Errorf("%s %v: %v, want allowed", tc.url, tc.allowed, err)
		case tc.kind != nil && (!errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %v: err = %v, want %v saying %q", tc.url, tc.allowed, err, tc.kind, tc.want)
		}
	}
	if n := len(emu.Counts()); n != 0 {
		t.Fatalf("CheckEndpoint sent requests: %v", emu.Counts())
	}
}
