package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

func validate(v validator.String, s string) diag.Diagnostics {
	resp := &validator.StringResponse{}
	v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("x"), ConfigValue: types.StringValue(s)}, resp)
	return resp.Diagnostics
}

// A URL is often wrong because a credential was pasted into it; the error
// must not repeat the credential.
func TestURLValidatorRedacts(t *testing.T) {
	for _, raw := range []string{
		"http://admin:hunter2@[::1",
		"http://admin:hunter2@tempo.svc:3100",
		"ftp://admin:hunter2@tempo.svc",
		"http://tempo.svc:3100/?token=hunter2",
		"http://tempo.svc:3100/#hunter2",
		"http://admin:hunter2@tempo svc:3100",
		"http://tempo.svc:3100/%zz?token=hunter2",
	} {
		diags := validate(httpURL(), raw)
		if !diags.HasError() {
			t.Errorf("%q: accepted", raw)
			continue
		}
		for _, d := range diags {
			if strings.Contains(d.Summary()+d.Detail(), "hunter2") {
				t.Errorf("%q: the error repeats the secret: %s", raw, d.Detail())
			}
		}
	}
	if diags := validate(httpURL(), "https://tempo-admin-api.tempo.svc:3100/admin/api/v3"); diags.HasError() {
		t.Errorf("a good URL refused: %v", diags)
	}
}

func TestExpirationWholeSeconds(t *testing.T) {
	for s, ok := range map[string]bool{
		"2030-01-01T00:00:00Z":           true,
		"2030-01-01T01:00:00+01:00":      true,
		"2030-01-01T00:00:00.000Z":       true,
		"2030-01-01T00:00:00.5Z":         false,
		"2030-01-01T00:00:00.000001Z":    false,
		"2030-01-01 00:00:00Z":           false,
		"2030-01-01T00:00:00.5+02:00":    false,
		"2030-01-01T00:00:00.999999999Z": false,
	} {
		if got := !validate(rfc3339WholeSeconds(), s).HasError(); got != ok {
			t.Errorf("%q: accepted=%v, want %v", s, got, ok)
		}
	}
}

// Taking over an inactive object only speaks of re-activation when the
// configuration re-activates it.
func TestAdoptedWarning(t *testing.T) {
	var d diag.Diagnostics
	adoptedWarning(&d, "tenant", "team-a", adminapi.StatusInactive, adminapi.StatusInactive)
	if len(d) != 1 || strings.Contains(d[0].Summary(), "Re-activated") || !strings.Contains(d[0].Detail(), "stays inactive") {
		t.Errorf("status inactive: %v", d)
	}
	d = nil
	adoptedWarning(&d, "tenant", "team-a", adminapi.StatusInactive, adminapi.StatusActive)
	if len(d) != 1 || !strings.Contains(d[0].Summary(), "Re-activated") {
		t.Errorf("status active: %v", d)
	}
}

// A server that fills display_name with the name, and one that leaves it
// empty, read back alike when the configuration omits it.
func TestDisplayNameFrom(t *testing.T) {
	null, set := types.StringNull(), types.StringValue("Team A")
	cases := []struct {
		prior        types.String
		server, want string // want "" means null
	}{
		{null, "", ""},
		{null, "team-a", ""},
		{null, "Changed by hand", "Changed by hand"},
		{set, "Team A", "Team A"},
		{set, "team-a", "team-a"},
		{set, "", ""},
	}
	for _, c := range cases {
		got := displayNameFrom(c.prior, c.server, "team-a")
		if (c.want == "" && !got.IsNull()) || (c.want != "" && got.ValueString() != c.want) {
			t.Errorf("prior %v, server %q: got %v, want %q", c.prior, c.server, got, c.want)
		}
	}
}
