package adminapi_test

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

func port(t *testing.T, url string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Endpoints the guard refuses from the URL alone: New fails, nothing is sent.
func TestGuardRefusesAtConfiguration(t *testing.T) {
	cases := []struct {
		name    string
		url     string
		allowed []string
		want    string
	}{
		{"clear text to a public address", "http://203.0.113.10:3100", nil, "clear text"},
		{"clear text to a public IPv6 address", "http://[2001:db8::1]:3100", nil, "clear text"},
		{"address outside allowed CIDRs", "https://192.168.1.10:3100", []string{"10.0.0.0/8"}, "outside allowed_endpoints"},
		{"loopback outside allowed CIDRs", "http://127.0.0.1:3100", []string{"10.0.0.0/8", ".svc"}, "outside allowed_endpoints"},
		{"clear text to the metadata endpoint", "http://169.254.169.254", nil, "clear text"},
		{"clear text to an IPv6 metadata endpoint", "http://[fd00:ec2::254]", nil, "clear text"},
		{"clear text to a link-local address", "http://[fe80::1%25eth0]:3100", nil, "clear text"},
		{"hex spelling of an address", "http://0x7f.0.0.1:3100", nil, "address"},
		{"octal spelling of an address", "http://010.0.0.1:3100", []string{".svc"}, "address"},
		{"short spelling of an address", "https://127.1:3100", nil, "address"},
		{"decimal spelling of an address", "https://2130706433:3100", nil, "address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := adminapi.New(adminapi.Config{URL: tc.url, Token: adminToken, AllowedEndpoints: tc.allowed})
			if !errors.Is(err, adminapi.ErrEndpointRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a refusal saying %q", err, tc.want)
			}
		})
	}
}

func TestGuardRejectsBadEntries(t *testing.T) {
	// Entries that look numeric would match spellings of addresses that
	// some resolvers accept (0x7f.0.0.1, 010.0.0.1, 127.1) by suffix.
	for _, entry := range []string{"", "10.0.0.0/33", "http://x.svc", "*.svc", "a b", ".1", "0.1", "1", ".0x1", "a.0x7f", "x.010"} {
		_, err := adminapi.New(adminapi.Config{URL: "https://x.svc", Token: adminToken, AllowedEndpoints: []string{entry}})
		if err == nil || !strings.Contains(err.Error(), "allowed_endpoints") {
			t.Errorf("entry %q: err = %v, want an allowed_endpoints error", entry, err)
		}
	}
}

// Endpoints decided by what the name resolves to: refused at the first
// request, before a connection is opened.
func TestGuardChecksResolvedAddress(t *testing.T) {
	emu, srv := startEmulator(t)
	p := port(t, srv.URL)
	resolver := staticResolver{
		"tempo.example.com":          "203.0.113.10",
		"admin.corp.example":         "127.0.0.1",
		"tempo-admin-api.tempo.svc":  "127.0.0.1",
		"tempo-admin.monitoring.lan": "127.0.0.1",
	}
	cases := []struct {
		name    string
		host    string
		allowed []string
		ok      bool
		want    string
	}{
		{"clear text to a name resolving to a public address", "tempo.example.com", nil, false, "clear text"},
		{"clear text to a name resolving to loopback", "admin.corp.example", nil, true, ""},
		{"cluster-local name over clear text", "tempo-admin-api.tempo.svc", nil, true, ""},
		{"allowed suffix", "tempo-admin-api.tempo.svc", []string{".tempo.svc"}, true, ""},
		{"allowed suffix without a dot", "tempo-admin-api.tempo.svc", []string{"tempo.svc"}, true, ""},
		{"suffix that does not match", "tempo-admin.monitoring.lan", []string{".svc"}, false, "outside allowed_endpoints"},
		{"allowed CIDR containing the resolved address", "admin.corp.example", []string{"127.0.0.0/8"}, true, ""},
		{"resolved address outside the allowed CIDR", "admin.corp.example", []string{"10.0.0.0/8"}, false, "resolves to 127.0.0.1"},
		{"public resolved address allowed by CIDR is still refused elsewhere", "tempo.example.com", []string{"127.0.0.0/8"}, false, "outside allowed_endpoints"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu.Reset()
			c := newClient(t, "http://"+net.JoinHostPort(tc.host, p), func(c *adminapi.Config) {
				c.AllowedEndpoints = tc.allowed
				c.Resolver = resolver
			})
			_, err := c.ListClusters(ctx)
			if tc.ok {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, adminapi.ErrEndpointRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a refusal saying %q", err, tc.want)
			}
			if n := len(emu.Counts()); n != 0 {
				t.Fatalf("a refused endpoint still got requests: %v", emu.Counts())
			}
		})
	}
}

func TestURLForms(t *testing.T) {
	_, srv := startEmulator(t)
	for _, u := range []string{srv.URL, srv.URL + "/", srv.URL + "/admin/api/v3", srv.URL + "/admin/api/v3/"} {
		c := newClient(t, u)
		if _, err := c.ListClusters(ctx); err != nil {
			t.Errorf("url %q: %v", u, err)
		}
	}
	for _, tc := range []struct{ url, want string }{
		{"", "required"},
		{"ftp://x.svc", "http:// or https://"},
		{"http://:secret@x.svc", "credentials"},
		{"http://", "no host"},
		{"http://x.svc?a=b", "query"},
	} {
		_, err := adminapi.New(adminapi.Config{URL: tc.url, Token: adminToken})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("url %q: err = %v, want %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("url %q: error repeats the credential: %v", tc.url, err)
		}
	}
}
