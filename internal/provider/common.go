package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
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

// instant maps an instant the server reports into the model: null when
// absent, otherwise in one spelling, UTC with "Z", whatever offset the
// server wrote, so that equal instants are never a diff and what a plan
// predicts is what the apply stores. Text that is no RFC 3339 instant is
// kept as it is.
func instant(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return types.StringValue(s)
	}
	return types.StringValue(t.UTC().Format(time.RFC3339Nano))
}

// displayNameFrom maps the server's display_name into the model. Servers may
// fill an omitted display_name with the name (the contract says so for
// tenants; others do it for every kind): when the configuration leaves it
// out, that default, like an empty value, reads back as omitted.
func displayNameFrom(prior types.String, server, name string) types.String {
	if server == "" || (prior.IsNull() && server == name) {
		return types.StringNull()
	}
	return types.StringValue(server)
}

// statusFrom maps the server's status of a tenant or policy into the
// model. The contract allows statuses other than active and inactive
// ("unknown"); such a one keeps what was known before (the plan's, or the
// state's), so that neither an apply reads back something it did not plan
// nor a configuration generated from the state holds a value no
// configuration may set. knownStatus reports whether the server's was one
// of the two.
func statusFrom(prior types.String, server string) types.String {
	if knownStatus(server) || prior.IsUnknown() {
		return types.StringValue(server)
	}
	return prior
}

func knownStatus(s string) bool { return s == adminapi.StatusActive || s == adminapi.StatusInactive }

// unknownStatusWarning says that the server reported a status the provider
// does not know, and what was kept.
func unknownStatusWarning(diags *diag.Diagnostics, noun, name, status string) {
	diags.AddWarning(fmt.Sprintf("The %s %q has status %q", noun, name, status),
		"The admin API reports a status other than active or inactive. The state keeps the status known before; "+
			"check the object on the server, and apply again to assert the configured status.")
}

// effectiveDisplayName is what data sources report: the display name, or the
// name when the server keeps none, whichever way the server reads the
// contract.
func effectiveDisplayName(server, name string) types.String {
	if server == "" {
		return types.StringValue(name)
	}
	return types.StringValue(server)
}

// expired reports whether an RFC 3339 expiration has passed; "" never does.
func expired(expiration string, now time.Time) bool {
	exp, err := time.Parse(time.RFC3339, expiration)
	return err == nil && !exp.After(now)
}

func isNotFound(err error) bool { return errors.Is(err, adminapi.ErrNotFound) }

// nameTakenError explains a create that found an active object of the same
// name: it exists outside this state, and importing it is the way in.
func nameTakenError(diags *diag.Diagnostics, resourceType, noun, name string) {
	diags.AddAttributeError(path.Root("name"), fmt.Sprintf("The %s %q already exists", noun, name),
		fmt.Sprintf("An active %s named %q exists on the server and is not in this state. To manage it here, import it:\n\n"+
			"  terraform import '%s.<resource name>' %s\n\nor add an import block:\n\n"+
			"  import {\n    to = %s.<resource name>\n    id = %q\n  }\n\n"+
			"If this plan replaces it (-replace or replace_triggered_by), change it in place instead: destroying a %s only deactivates it, and its name is never freed.",
			noun, name, resourceType, name, resourceType, name, noun))
}

// adoptedWarning tells that a create took over an inactive object of the
// same name. It speaks of re-activation only when the plan re-activates it.
func adoptedWarning(diags *diag.Diagnostics, noun, name, existingStatus, wantStatus string) {
	if wantStatus == adminapi.StatusInactive {
		diags.AddWarning(fmt.Sprintf("Took over the inactive %s %q", noun, name),
			fmt.Sprintf("A %s named %q existed as %s (destroyed earlier: the admin API never frees a name). It was updated with this configuration and stays inactive, as configured.",
				noun, name, existingStatus))
		return
	}
	diags.AddWarning(fmt.Sprintf("Re-activated the %s %q", noun, name),
		fmt.Sprintf("A %s named %q existed as %s (destroyed earlier: the admin API never frees a name). It was updated with this configuration and re-activated.",
			noun, name, existingStatus))
}

// softDeleteWarning is shown when a plan destroys a tenant or policy.
func softDeleteWarning(diags *diag.Diagnostics, noun string) {
	diags.AddWarning(fmt.Sprintf("Destroying a %s only deactivates it", noun),
		fmt.Sprintf("The admin API v3 has no hard delete: the %s is marked inactive and its name stays taken. "+
			"Declaring it again re-activates it (for an access policy, only once no token of it is still active).", noun))
}

// importName takes the object's name from the import ID or, with
// `import { identity = { name = ... } }`, from the identity, checks it
// against the name rule of its kind before anything is sent (an ID such as
// ".." would otherwise reach the server as a path), and puts it in the
// state. It returns the name, or "" when it refused it.
func importName(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse, rule validator.String) string {
	name, what := req.ID, "import ID"
	if name == "" && req.Identity != nil {
		var id nameIdentity
		resp.Diagnostics.Append(req.Identity.Get(ctx, &id)...)
		name, what = id.Name.ValueString(), "identity's name"
	}
	vr := &validator.StringResponse{}
	rule.ValidateString(ctx, validator.StringRequest{Path: path.Root("name"), ConfigValue: types.StringValue(name)}, vr)
	if vr.Diagnostics.HasError() {
		for _, d := range vr.Diagnostics.Errors() {
			resp.Diagnostics.AddError("Invalid "+what, "The "+what+" is the object's name: "+d.Detail())
		}
		return ""
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	if resp.Identity != nil {
		resp.Diagnostics.Append(resp.Identity.Set(ctx, nameIdentity{Name: types.StringValue(name)})...)
	}
	if resp.Diagnostics.HasError() {
		return ""
	}
	return name
}

// nameIdentity is the resource identity of every kind: the name, which is
// unique on the admin API for good (names are never freed), across all of
// its clusters, so a tenant's cluster adds nothing to it.
type nameIdentity struct {
	Name types.String `tfsdk:"name"`
}

// nameIdentitySchema is the identity schema of a kind.
func nameIdentitySchema(noun string) identityschema.Schema {
	return identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"name": identityschema.StringAttribute{
				Description:       fmt.Sprintf("Name of the %s, unique on the admin API.", noun),
				RequiredForImport: true,
			},
		},
	}
}

// removeFromState drops an object that is gone. Its identity is kept in the
// response: the framework wants one after every read, and a CLI without
// resource identity (Terraform before 1.12) sends none to start from.
func removeFromState(ctx context.Context, resp *resource.ReadResponse, name types.String) {
	setIdentity(ctx, resp.Identity, name, &resp.Diagnostics)
	resp.State.RemoveResource(ctx)
}

// setIdentity records the identity of an object whose name is known.
func setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, name types.String, diags *diag.Diagnostics) {
	if identity == nil || name.IsNull() || name.IsUnknown() {
		return
	}
	diags.Append(identity.Set(ctx, nameIdentity{Name: name})...)
}

// recordObject keeps what the server answered for an object: its attributes
// in state, the version the next write must send, and its identity. Every
// create, read and update of a resource ends here.
func recordObject(ctx context.Context, state *tfsdk.State, private privateWriter, identity *tfsdk.ResourceIdentity, model any, name types.String, version int64, diags *diag.Diagnostics) {
	diags.Append(state.Set(ctx, model)...)
	diags.Append(writeVersion(ctx, private, version)...)
	setIdentity(ctx, identity, name, diags)
}

// readByName fetches the object a resource's state names, for the kinds whose
// refresh has no rule of its own. It returns nil when there is nothing to
// record: the object is gone (it leaves the state, with a warning) or the read
// failed (an error says so).
func readByName[T any](ctx context.Context, resp *resource.ReadResponse, noun string, name types.String, get func(context.Context, string) (*T, error)) *T {
	got, err := get(ctx, name.ValueString())
	if isNotFound(err) {
		resp.Diagnostics.AddWarning(fmt.Sprintf("%s %q no longer exists", capitalize(noun), name.ValueString()),
			fmt.Sprintf("The server does not know the %s; it is removed from the state and the next plan creates it.", noun))
		removeFromState(ctx, resp, name)
		return nil
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot read %s %q", noun, name.ValueString()), err)
		return nil
	}
	return got
}

// deactivateByName is the destroy of the kinds that the server only ever
// deactivates, with the version the state last saw.
func deactivateByName(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse, noun string, deactivate func(context.Context, string, int64) error) {
	var name types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("name"), &name)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := deactivate(ctx, name.ValueString(), readVersion(ctx, req.Private)); err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot deactivate %s %q", noun, name.ValueString()), err)
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
