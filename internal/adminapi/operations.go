package adminapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ListClusters returns the clusters the server knows.
func (c *Client) ListClusters(ctx context.Context) ([]Cluster, error) {
	return listObjects[Cluster](ctx, c, clusters, false)
}

// GetCluster reads one cluster.
func (c *Client) GetCluster(ctx context.Context, name string) (*Cluster, error) {
	cl, _, err := getObject[Cluster](ctx, c, clusters, name)
	return cl, err
}

// ListTenants lists tenants; inactive ones only when includeInactive.
func (c *Client) ListTenants(ctx context.Context, includeInactive bool) ([]Tenant, error) {
	return listObjects[Tenant](ctx, c, tenants, includeInactive)
}

// GetTenant reads one tenant with its version.
func (c *Client) GetTenant(ctx context.Context, name string) (*Tenant, error) {
	t, v, err := getObject[Tenant](ctx, c, tenants, name)
	if t != nil {
		t.Version = v
	}
	return t, err
}

// CreateTenant creates a tenant. If an attempt ended ambiguously (its
// answer lost after the server may have committed it) and a retry finds the
// name taken by a tenant with the requested fields, that tenant is the one
// this call created, and it is returned. After definite answers only (429,
// 503, nothing sent), a 409 is someone else's tenant: ErrNameTaken.
func (c *Client) CreateTenant(ctx context.Context, t Tenant) (*Tenant, error) {
	out, v, ambiguous, err := createObject(ctx, c, tenants, t.Name, &t)
	if err != nil && ambiguous && errors.Is(err, ErrNameTaken) {
		got, gerr := c.GetTenant(ctx, t.Name)
		if gerr == nil && tenantMatches(t, *got) {
			return got, nil
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if out == nil || v == 0 {
		return c.GetTenant(ctx, t.Name)
	}
	out.Version = v
	return out, nil
}

func tenantMatches(want, got Tenant) bool {
	return got.Status == StatusActive && got.Cluster == want.Cluster &&
		(want.DisplayName == "" || got.DisplayName == want.DisplayName)
}

// UpdateTenant writes t over the tenant at t.Version (zero: read it first).
func (c *Client) UpdateTenant(ctx context.Context, t Tenant) (*Tenant, error) {
	out, v, err := updateObject(ctx, c, tenants, t.Name, &t, t.Version)
	if err != nil {
		return nil, err
	}
	out.Version = v
	return out, nil
}

// DeleteTenant marks a tenant inactive; the v3 API has no hard delete.
func (c *Client) DeleteTenant(ctx context.Context, name string, version int64) error {
	return deleteObject[Tenant](ctx, c, tenants, name, version)
}

// ListAccessPolicies lists access policies.
func (c *Client) ListAccessPolicies(ctx context.Context, includeInactive bool) ([]AccessPolicy, error) {
	return listObjects[AccessPolicy](ctx, c, accessPolicies, includeInactive)
}

// GetAccessPolicy reads one access policy with its version.
func (c *Client) GetAccessPolicy(ctx context.Context, name string) (*AccessPolicy, error) {
	p, v, err := getObject[AccessPolicy](ctx, c, accessPolicies, name)
	if p != nil {
		p.Version = v
	}
	return p, err
}

// CreateAccessPolicy creates an access policy, with the same lost-response
// rule as CreateTenant.
func (c *Client) CreateAccessPolicy(ctx context.Context, p AccessPolicy) (*AccessPolicy, error) {
	out, v, ambiguous, err := createObject(ctx, c, accessPolicies, p.Name, &p)
	if err != nil && ambiguous && errors.Is(err, ErrNameTaken) {
		got, gerr := c.GetAccessPolicy(ctx, p.Name)
		if gerr == nil && PolicyMatches(p, *got) {
			return got, nil
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if out == nil || v == 0 {
		return c.GetAccessPolicy(ctx, p.Name)
	}
	out.Version = v
	return out, nil
}

// PolicyMatches reports whether got grants what want asks, ignoring the
// order of realms, label policies and scopes, which carries no meaning.
func PolicyMatches(want, got AccessPolicy) bool {
	if got.Status != StatusActive || (want.DisplayName != "" && got.DisplayName != want.DisplayName) {
		return false
	}
	return slices.Equal(sortedScopes(want.Scopes), sortedScopes(got.Scopes)) &&
		slices.Equal(realmKeys(want.Realms), realmKeys(got.Realms))
}

func sortedScopes(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func realmKeys(rs []Realm) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		sel := make([]string, 0, len(r.LabelPolicies))
		for _, lp := range r.LabelPolicies {
			sel = append(sel, lp.Selector)
		}
		slices.Sort(sel)
		out = append(out, fmt.Sprintf("%s\x00%s\x00%q", r.Tenant, r.Cluster, sel))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// UpdateAccessPolicy writes p over the policy at p.Version (zero: read it
// first), with the re-read-and-re-apply-once rule on concurrent changes.
func (c *Client) UpdateAccessPolicy(ctx context.Context, p AccessPolicy) (*AccessPolicy, error) {
	out, v, err := updateObject(ctx, c, accessPolicies, p.Name, &p, p.Version)
	if err != nil {
		return nil, err
	}
	out.Version = v
	return out, nil
}

// DeleteAccessPolicy marks an access policy inactive.
func (c *Client) DeleteAccessPolicy(ctx context.Context, name string, version int64) error {
	return deleteObject[AccessPolicy](ctx, c, accessPolicies, name, version)
}

// ListTokens lists tokens (never with secrets).
func (c *Client) ListTokens(ctx context.Context, includeInactive bool) ([]Token, error) {
	return listObjects[Token](ctx, c, tokens, includeInactive)
}

// GetToken reads a token's metadata; the secret is never returned again.
func (c *Client) GetToken(ctx context.Context, name string) (*Token, error) {
	t, v, err := getObject[Token](ctx, c, tokens, name)
	if t != nil {
		t.Version = v
		t.Secret = ""
	}
	return t, err
}

// CreateToken creates a token and returns it with its secret, the only time
// the server shows it.
//
// A create that ended ambiguously (an attempt's answer lost after the
// server may have committed it, then a 409 on retry, or no answer at all)
// may have left a working token whose secret nobody has. CreateToken then
// reads the token: if it is there, active and what was asked for, it
// revokes it and returns an error matching both ErrSecretLost and
// ErrOrphanRevoked; if the revocation fails, ErrSecretLost alone, naming the
// live token. A 409 after definite answers only is someone else's token
// under the name: ErrNameTaken, and that token is left alone.
func (c *Client) CreateToken(ctx context.Context, t Token) (*Token, error) {
	t.Secret = ""
	started := c.now()
	out, v, ambiguous, err := createObject(ctx, c, tokens, t.Name, &t)
	if err != nil {
		// A success whose body is unreadable made the token all the same.
		if ambiguous || successStatus(err) {
			return nil, c.settleLostToken(ctx, t, started, err)
		}
		return nil, err
	}
	if out == nil || out.Secret == "" {
		return nil, c.settleLostToken(ctx, t, started, &Error{Op: tokens.op("create", t.Name), kind: ErrUnexpected,
			Message: "the create response carried no token secret"})
	}
	out.Version = v
	return out, nil
}

// DeleteToken revokes a token (soft delete: it stops working at once).
func (c *Client) DeleteToken(ctx context.Context, name string, version int64) error {
	return deleteObject[Token](ctx, c, tokens, name, version)
}
