package provider

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// stringCheck is a string validator from a function that says what is
// wrong with a value, or "" when nothing is.
type stringCheck struct {
	desc  string
	check func(string) string
}

func (v stringCheck) Description(context.Context) string         { return v.desc }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.desc }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if msg := v.check(req.ConfigValue.ValueString()); msg != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+attributeName(req.Path), msg)
	}
}

// httpURL checks the admin API URL. Messages show it redacted: a URL that
// is wrong is often one with a credential pasted into it.
func httpURL() validator.String {
	return stringCheck{desc: "an http:// or https:// URL", check: func(s string) string {
		u, err := url.Parse(s)
		shown := adminapi.RedactURL(s)
		switch {
		case err != nil:
			return fmt.Sprintf("%q is not a URL; write it like http://tempo-admin-api.tempo.svc:3100", shown)
		case u.User != nil:
			return fmt.Sprintf("%q carries credentials; put the admin token in token or token_file", shown)
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Sprintf("%q must start with http:// or https://", shown)
		case u.Host == "":
			return fmt.Sprintf("%q has no host", shown)
		case u.RawQuery != "" || u.Fragment != "":
			return fmt.Sprintf("%q must not have a query or fragment", shown)
		}
		return ""
	}}
}

func duration() validator.String {
	return stringCheck{desc: "a positive Go duration such as 30s", check: func(s string) string {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Sprintf("%q is not a positive duration; write it like 30s, 1m30s or 2m", s)
		}
		return ""
	}}
}

func durationAtLeastZero() validator.String {
	return stringCheck{desc: "a Go duration such as 168h", check: func(s string) string {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Sprintf("%q is not a duration; write it like 168h or 30m", s)
		}
		return ""
	}}
}

func endpointEntry() validator.String {
	return stringCheck{desc: "a host suffix or a CIDR", check: func(s string) string {
		e := strings.TrimSpace(s)
		switch {
		case e == "":
			return "an empty entry allows nothing; use a host suffix such as \".svc\" or a CIDR such as \"10.0.0.0/8\""
		case strings.Contains(e, "/"):
			if _, err := netip.ParsePrefix(e); err != nil {
				return fmt.Sprintf("%q is not a valid CIDR: %v", s, err)
			}
		case strings.ContainsAny(e, ":*?@ ") && !isAddr(e):
			return fmt.Sprintf("%q is neither a host suffix (such as \".svc\") nor a CIDR (such as \"10.0.0.0/8\")", s)
		}
		return ""
	}}
}

func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// Name rules of ADMIN-API.md, checked at plan so that nothing invalid
// reaches the server.
var (
	tenantNameRE = regexp.MustCompile(`^[a-z0-9_-]{3,64}$`)
	objectNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,128}$`)
	namePrefixRE = regexp.MustCompile(`^[a-z0-9_-]{1,100}$`)
	scopeRE      = regexp.MustCompile(`^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$`)
	selectorRE   = regexp.MustCompile(`^\{.*\}$`)
	clusterRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,253}$`)
)

// clusterName accepts what can name a GET cluster (its Helm release name)
// and nothing that would change the meaning of a URL path.
func clusterName() validator.String {
	return stringCheck{desc: "a cluster name", check: func(s string) string {
		if !clusterRE.MatchString(s) || s == "." || s == ".." {
			return fmt.Sprintf("%q is not a cluster name: use letters, digits, _, . and - (the GET cluster_name, usually its Helm release name)", s)
		}
		return ""
	}}
}

func tenantName() validator.String {
	return stringCheck{desc: "3 to 64 characters of a-z, 0-9, _ and -, not starting with __", check: func(s string) string {
		switch {
		case !tenantNameRE.MatchString(s):
			return fmt.Sprintf("%q must be 3 to 64 characters of lower-case letters, digits, _ and -; it is the tenant ID on the data path and cannot change", s)
		case strings.HasPrefix(s, "__"):
			return fmt.Sprintf("%q starts with __, which GET reserves for built-in tenants", s)
		}
		return ""
	}}
}

func objectName(what string) validator.String {
	return stringCheck{desc: "1 to 128 characters of a-z, 0-9, _ and -", check: func(s string) string {
		if !objectNameRE.MatchString(s) {
			return fmt.Sprintf("%q must be 1 to 128 characters of lower-case letters, digits, _ and -; it names the %s for good", s, what)
		}
		return ""
	}}
}

func namePrefix() validator.String {
	return stringCheck{desc: "1 to 100 characters of a-z, 0-9, _ and -", check: func(s string) string {
		if !namePrefixRE.MatchString(s) {
			return fmt.Sprintf("%q must be 1 to 100 characters of lower-case letters, digits, _ and - (a unique suffix is appended, and a token name has at most 128 characters)", s)
		}
		return ""
	}}
}

func realmTenant() validator.String {
	return stringCheck{desc: "a tenant name, or * for every tenant of the cluster", check: func(s string) string {
		if s != "*" && !tenantNameRE.MatchString(s) {
			return fmt.Sprintf("%q must be a tenant name (3 to 64 characters of lower-case letters, digits, _ and -) or \"*\" for every tenant of the cluster", s)
		}
		return ""
	}}
}

func scope() validator.String {
	return stringCheck{desc: "a scope of the form <resource>:<action>", check: func(s string) string {
		if !scopeRE.MatchString(s) {
			return fmt.Sprintf("%q must have the form <resource>:<action> in lower case, such as traces:read, traces:write or admin:read", s)
		}
		return ""
	}}
}

func labelSelector() validator.String {
	return stringCheck{desc: "a label selector in braces", check: func(s string) string {
		if !selectorRE.MatchString(strings.TrimSpace(s)) || strings.TrimSpace(s) != s {
			return fmt.Sprintf("%q must be a label selector in braces, such as {env=\"prod\"}", s)
		}
		return ""
	}}
}

// rfc3339WholeSeconds accepts what the server can keep: it stores token
// expirations in whole seconds, so a fraction would read back as another
// instant and replace the token on every run.
func rfc3339WholeSeconds() validator.String {
	return stringCheck{desc: "an RFC 3339 time in whole seconds", check: func(s string) string {
		t, err := time.Parse(time.RFC3339, s)
		switch {
		case err != nil:
			return fmt.Sprintf("%q is not an RFC 3339 time; write it like 2027-01-31T00:00:00Z", s)
		case t.Nanosecond() != 0:
			return fmt.Sprintf("%q has a fraction of a second, which the server does not keep (it stores whole seconds); write it like %s",
				s, t.Truncate(time.Second).Format(time.RFC3339))
		}
		return ""
	}}
}

func displayName() validator.String {
	return stringCheck{desc: "a non-empty display name", check: func(s string) string {
		if strings.TrimSpace(s) == "" {
			return "display_name must not be empty; leave it out instead"
		}
		return ""
	}}
}

// attributeName is the name of the attribute a path ends in; the CLI shows
// where in the configuration it is, so the summary stays short.
func attributeName(p path.Path) string {
	steps := p.Steps()
	for i := len(steps) - 1; i >= 0; i-- {
		if a, ok := steps[i].(path.PathStepAttributeName); ok {
			return string(a)
		}
	}
	return p.String()
}
