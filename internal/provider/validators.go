package provider

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
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
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+req.Path.String(), msg)
	}
}

func httpURL() validator.String {
	return stringCheck{desc: "an http:// or https:// URL", check: func(s string) string {
		u, err := url.Parse(s)
		switch {
		case err != nil:
			return fmt.Sprintf("%q is not a URL: %v", s, err)
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Sprintf("%q must start with http:// or https://", s)
		case u.Host == "":
			return fmt.Sprintf("%q has no host", s)
		case u.User != nil:
			return "the URL must not carry credentials; put the admin token in token or token_file"
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
