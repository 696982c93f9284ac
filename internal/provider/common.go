package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// dataFrom takes the provider's configured data in a resource's or data
// source's Configure. It is nil while the provider is not configured yet
// (validation runs before configuration).
func dataFrom(v any, diags *diag.Diagnostics) *providerData {
	if v == nil {
		return nil
	}
	d, ok := v.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *providerData, got %T; this is a bug in the provider", v))
		return nil
	}
	return d
}

// addAPIError turns an adminapi error into a diagnostic. The error text
// already names the operation, the object, the status, the server's message
// and a hint; it never contains a secret.
func addAPIError(diags *diag.Diagnostics, summary string, err error) {
	diags.AddError(summary, err.Error())
}

// The object version (ETag) lives in private state: it is what If-Match
// needs, and it is no business of the configuration.
const versionKey = "version"

type privateReader interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateWriter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func readVersion(ctx context.Context, p privateReader) int64 {
	b, diags := p.GetKey(ctx, versionKey)
	if diags.HasError() || len(b) == 0 {
		return 0
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

func writeVersion(ctx context.Context, p privateWriter, v int64) diag.Diagnostics {
	return p.SetKey(ctx, versionKey, []byte(strconv.FormatInt(v, 10)))
}

// nullIfEmpty maps the server's "" to null, so that an omitted optional
// attribute reads back as omitted.
func nullIfEmpty(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func isNotFound(err error) bool { return errors.Is(err, adminapi.ErrNotFound) }

// nameTakenError explains a create that found an active object of the same
// name: it exists outside this state, and importing it is the way in.
func nameTakenError(diags *diag.Diagnostics, resourceType, noun, name string) {
	diags.AddAttributeError(path.Root("name"), fmt.Sprintf("The %s %q already exists", noun, name),
		fmt.Sprintf("An active %s named %q exists on the server and is not in this state. To manage it here, import it:\n\n"+
			"  terraform import '%s.<resource name>' %s\n\nor add an import block:\n\n"+
			"  import {\n    to = %s.<resource name>\n    id = %q\n  }",
			noun, name, resourceType, name, resourceType, name))
}

// reactivatedWarning tells that a create took over an inactive object.
func reactivatedWarning(diags *diag.Diagnostics, noun, name, status string) {
	diags.AddWarning(fmt.Sprintf("Re-activated the %s %q", noun, name),
		fmt.Sprintf("A %s named %q existed as %s (destroyed earlier: the admin API never frees a name). It was updated with this configuration and re-activated.",
			noun, name, status))
}

// softDeleteWarning is shown when a plan destroys a tenant or policy.
func softDeleteWarning(diags *diag.Diagnostics, noun string) {
	diags.AddWarning(fmt.Sprintf("Destroying a %s only deactivates it", noun),
		fmt.Sprintf("The admin API v3 has no hard delete: the %s is marked inactive and its name stays taken. Applying the configuration again re-activates it.", noun))
}
