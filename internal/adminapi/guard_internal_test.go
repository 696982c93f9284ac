package adminapi

import (
	"errors"
	"net/netip"
	"testing"
)

// A host matching an allowed suffix is not thereby allowed to receive the
// admin token in clear text: over http:// every address it resolves to must
// still be private or inside a listed CIDR. Over https:// the suffix is
// enough.
func TestAllowedSuffixIsNoLicenceForClearText(t *testing.T) {
	for _, tc := range []struct {
		scheme  string
		allowed []string
		addr    string
		ok      bool
	}{
		{"http", []string{".svc"}, "203.0.113.10", false},
		{"http", []string{".svc"}, "10.1.2.3", true},
		{"http", []string{".svc"}, "127.0.0.1", true},
		// Link-local addresses are where cloud metadata services answer
		// (169.254.169.254, fd00:ec2::254): not a private path to the
		// admin API, unless a CIDR names them.
		{"http", []string{".svc"}, "fe80::1", false},
		{"http", []string{".svc"}, "169.254.169.254", false},
		{"http", []string{".svc"}, "fd00:ec2::254", false},
		{"http", []string{".svc"}, "fd00:ec2::1", true},
		{"http", nil, "169.254.169.254", false},
		{"http", nil, "::ffff:169.254.169.254", false},
		{"http", []string{"169.254.0.0/16"}, "169.254.169.254", true},
		{"http", []string{"fe80::/10"}, "fe80::1", true},
		{"http", []string{".svc", "203.0.113.0/24"}, "203.0.113.10", true},
		{"https", []string{".svc"}, "203.0.113.10", true},
	} {
		g, err := newGuard(tc.scheme, tc.allowed, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = g.checkAddr("tempo-admin-api.tempo.svc", netip.MustParseAddr(tc.addr))
		if tc.ok && err != nil {
			t.Errorf("%s %v -> %s: %v, want allowed", tc.scheme, tc.allowed, tc.addr, err)
		}
		if !tc.ok && !errors.Is(err, ErrEndpointRefused) {
			t.Errorf("%s %v -> %s: err = %v, want a refusal", tc.scheme, tc.allowed, tc.addr, err)
		}
	}
}

// Suffixes name hosts; an address literal is judged by CIDRs alone, and a
// suffix that could only match an address is refused.
func TestSuffixDoesNotMatchAddressLiterals(t *testing.T) {
	if _, err := newGuard("https", []string{".10"}, nil); err == nil {
		t.Fatal("suffix \".10\" accepted")
	}
	g, err := newGuard("https", []string{".example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.checkAddr("203.0.113.10", netip.MustParseAddr("203.0.113.10")); !errors.Is(err, ErrEndpointRefused) {
		t.Fatalf("a suffix admitted an address literal: %v", err)
	}
}
