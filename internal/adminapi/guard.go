package adminapi

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Resolver looks up the addresses of a host name. *net.Resolver satisfies it;
// tests substitute their own so that no query leaves the machine.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// guard is the network-boundary guard. The admin token may only travel to:
//
//   - when allowed_endpoints is set: a host matching one of its suffixes, or
//     an address inside one of its CIDRs (checked on every address actually
//     dialled, so a name cannot resolve its way around the list);
//   - without it: anywhere over HTTPS.
//
// And over plain HTTP, in both cases, only to addresses that are loopback,
// private-range (but not link-local) or inside a listed CIDR, whatever the name: a
// matching suffix (".svc") or a cluster-local name says where the operator
// expects the endpoint, not that the path to it is private, and the token
// would cross that path in clear text.
type guard struct {
	cleartext bool
	suffixes  []string
	prefixes  []netip.Prefix
	resolver  Resolver
}

func newGuard(scheme string, allowed []string, r Resolver) (*guard, error) {
	g := &guard{cleartext: scheme == "http", resolver: r}
	for _, raw := range allowed {
		entry := strings.ToLower(strings.TrimSpace(raw))
		switch {
		case entry == "":
			return nil, fmt.Errorf("allowed_endpoints: empty entry; use a host suffix such as \".svc\" or a CIDR such as \"10.0.0.0/8\"")
		case strings.Contains(entry, "/"):
			p, err := netip.ParsePrefix(entry)
			if err != nil {
				return nil, fmt.Errorf("allowed_endpoints: %q is not a valid CIDR: %w", raw, err)
			}
			g.prefixes = append(g.prefixes, unmapPrefix(p.Masked()))
		default:
			// Host names compare without the root's trailing dot, as
			// nameAllowed strips it from the host.
			entry = strings.TrimRight(entry, ".")
			if a, err := netip.ParseAddr(entry); err == nil {
				a = a.Unmap().WithZone("")
				g.prefixes = append(g.prefixes, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			if numericName(entry) {
				return nil, fmt.Errorf("allowed_endpoints: %q ends in a number, so it would match addresses written as names (such as 127.1 or 0x7f.0.0.1); name addresses with a CIDR, such as \"10.0.0.1/32\"", raw)
			}
			if !validSuffix(entry) {
				return nil, fmt.Errorf("allowed_endpoints: %q is neither a host suffix (such as \".svc\", in ASCII: punycode for international names) nor a CIDR", raw)
			}
			g.suffixes = append(g.suffixes, entry)
		}
	}
	return g, nil
}

// unmapPrefix turns a CIDR of IPv4-mapped IPv6 addresses (::ffff:10.0.0.0/104)
// into the IPv4 CIDR it means: the guard compares unmapped addresses, which
// such a prefix would otherwise never contain.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// validSuffix accepts what can end a DNS name: letters, digits, "-", "_"
// and dots, with at least one label.
func validSuffix(s string) bool {
	if strings.Trim(s, ".") == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func (g *guard) restricted() bool { return len(g.suffixes)+len(g.prefixes) > 0 }

// nameAllowed reports whether host matches an allowed_endpoints suffix. An
// entry with a leading dot matches sub-domains only; one without matches the
// name itself and its sub-domains. An address literal is no name: it is
// judged by the CIDRs alone, or ".1" would admit every address ending in 1.
func (g *guard) nameAllowed(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, s := range g.suffixes {
		if strings.HasPrefix(s, ".") {
			if strings.HasSuffix(host, s) {
				return true
			}
		} else if host == s || strings.HasSuffix(host, "."+s) {
			return true
		}
	}
	return false
}

func (g *guard) prefixAllowed(a netip.Addr) bool {
	for _, p := range g.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// metadataAddrs are cloud metadata services on addresses of a private
// range (AWS's IPv6 one); the IPv4 one, 169.254.169.254, is link-local.
var metadataAddrs = []netip.Addr{netip.MustParseAddr("fd00:ec2::254")}

// privateAddr tells whether clear text to a is clear text inside the
// cluster's network. Link-local addresses are not: they are where cloud
// metadata services answer, never an admin API's Service.
func privateAddr(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if a.IsLinkLocalUnicast() || slices.Contains(metadataAddrs, a) {
		return false
	}
	return a.IsLoopback() || a.IsPrivate()
}

// numericName tells whether a host name, or a suffix, ends in a label that
// is a number (decimal, octal with a leading 0, or hex with 0x). No DNS name
// ends so; such a "name" is an address spelled in a form that some
// resolvers accept (0x7f.0.0.1, 010.0.0.1, 127.1, 2130706433), which a
// suffix such as ".1" would otherwise match.
func numericName(s string) bool {
	s = strings.TrimRight(strings.ToLower(s), ".")
	last := s[strings.LastIndexByte(s, '.')+1:]
	digits := last
	if h, ok := strings.CutPrefix(last, "0x"); ok {
		digits = h
		if digits == "" {
			return true
		}
		return strings.Trim(digits, "0123456789abcdef") == ""
	}
	return digits != "" && strings.Trim(digits, "0123456789") == ""
}

// checkStatic decides what can be decided from the URL alone. It returns
// done=true when the host is allowed or refused whatever it resolves to.
func (g *guard) checkStatic(host string) (done bool, err error) {
	if a, perr := netip.ParseAddr(host); perr == nil {
		return true, g.checkAddr(host, a)
	}
	if numericName(host) {
		return true, &Error{Op: "connect to " + host, kind: ErrEndpointRefused,
			Message: "the host is an IP address in a non-canonical spelling (hex, octal, or with parts left out), which resolvers read differently",
			Hint:    "Write the address in its usual form, such as 10.0.0.1, or use the Service's DNS name"}
	}
	if g.cleartext {
		return false, nil // every resolved address is checked
	}
	return !g.restricted() || g.nameAllowed(host), nil
}

// checkAddr decides whether the token may be sent to host at address a.
func (g *guard) checkAddr(host string, a netip.Addr) error {
	a = a.Unmap().WithZone("")
	if g.prefixAllowed(a) {
		return nil
	}
	op := "connect to " + host
	literal := host == a.String()
	if g.restricted() && !g.nameAllowed(host) {
		hint := "Add the host's suffix or a CIDR containing it to allowed_endpoints if the admin token may be sent there"
		if literal {
			return &Error{Op: op, kind: ErrEndpointRefused, Message: "the address is outside allowed_endpoints", Hint: hint}
		}
		return &Error{Op: op, kind: ErrEndpointRefused,
			Message: fmt.Sprintf("the name matches no allowed_endpoints suffix and resolves to %s, which is outside allowed_endpoints", a),
			Hint:    hint}
	}
	if !g.cleartext || privateAddr(a) {
		return nil
	}
	msg := "plain http:// to a public address would send the admin token in clear text"
	if !literal {
		msg = fmt.Sprintf("plain http:// to %s, a public address, would send the admin token in clear text", a)
	}
	hint := "Use https://, or list the endpoint in allowed_endpoints if this network is trusted"
	if g.restricted() {
		msg += " (a matching allowed_endpoints suffix does not make the path private)"
		hint = "Use https://, or add a CIDR containing " + a.String() + " to allowed_endpoints if the path to it is trusted"
	}
	return &Error{Op: op, kind: ErrEndpointRefused, Message: msg, Hint: hint}
}

// admit splits the addresses host resolves to into those the token may go
// to and the first refusal. Refused addresses are skipped rather than fatal
// while another one is allowed: the token still only goes where allowed.
func (g *guard) admit(host string, addrs []netip.Addr) (ok []netip.Addr, refusal error) {
	for _, a := range addrs {
		if err := g.checkAddr(host, a); err != nil {
			if refusal == nil {
				refusal = err
			}
			continue
		}
		ok = append(ok, a.Unmap())
	}
	return ok, refusal
}

// dialContext resolves the host itself so that the guard sees, and the
// dialer uses, the very addresses checked.
func (g *guard) dialContext(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if a, perr := netip.ParseAddr(host); perr == nil {
			if err := g.checkAddr(host, a); err != nil {
				return nil, err
			}
			return dial(ctx, network, addr)
		}
		addrs, err := g.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		allowed, refusal := g.admit(host, addrs)
		var dialErr error
		for _, a := range allowed {
			conn, err := dial(ctx, network, net.JoinHostPort(a.String(), port))
			if err == nil {
				return conn, nil
			}
			if dialErr == nil {
				dialErr = err
			}
		}
		switch {
		case refusal != nil:
			// The refusal explains the failure, and unlike a dial error it
			// is not retried; "connection refused" would hide it.
			return nil, refusal
		case dialErr != nil:
			return nil, dialErr
		}
		return nil, fmt.Errorf("%s resolves to no address", host)
	}
}
