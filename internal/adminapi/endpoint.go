package adminapi

import (
	"context"
	"fmt"
	"net/netip"
)

// CheckEndpoint applies the network-boundary guard to the configured URL the
// way dialling would, without sending a byte: it resolves the host with the
// configured Resolver and checks every address. A configuration the guard
// refuses (ErrEndpointRefused) can so fail at plan time, not half-way
// through an apply. A host that does not resolve is an ErrConnection error;
// whether that is fatal at plan time is the caller's decision.
func (c *Client) CheckEndpoint(ctx context.Context) error {
	host := c.base.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		return c.guard.checkAddr(host, a)
	}
	// Resolved even when the guard would not look at the addresses (https
	// without allowed_endpoints), so that a name that does not resolve is
	// reported too.
	addrs, err := c.guard.resolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = fmt.Errorf("%s resolves to no address", host)
	}
	if err != nil {
		return &Error{Op: "connect to " + host, kind: ErrConnection,
			Message: fmt.Sprintf("the host %s does not resolve from here", host),
			err:     err,
			Hint:    "Check the host name in url, and that it resolves where Terraform runs (a cluster-local name only resolves inside the cluster)"}
	}
	if allowed, refusal := c.guard.admit(host, addrs); len(allowed) == 0 {
		return refusal
	}
	return nil
}
