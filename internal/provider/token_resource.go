package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

var (
	_ resource.ResourceWithConfigure      = (*tokenResource)(nil)
	_ resource.ResourceWithIdentity       = (*tokenResource)(nil)
	_ resource.ResourceWithImportState    = (*tokenResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*tokenResource)(nil)
	_ resource.ResourceWithValidateConfig = (*tokenResource)(nil)
)

// NewTokenResource is the tempo_token resource.
func NewTokenResource() resource.Resource { return &tokenResource{} }

type tokenResource struct{ data *providerData }

type tokenModel struct {
	Name         types.String `tfsdk:"name"`
	NamePrefix   types.String `tfsdk:"name_prefix"`
	DisplayName  types.String `tfsdk:"display_name"`
	AccessPolicy types.String `tfsdk:"access_policy"`
	Expiration   types.String `tfsdk:"expiration"`
	Token        types.String `tfsdk:"token"`
	Status       types.String `tfsdk:"status"`
	CreatedAt    types.String `tfsdk:"created_at"`

	ExpireAfter         types.String `tfsdk:"expire_after"`
	EarlyRotationWindow types.String `tfsdk:"early_rotation_window"`
	ExpireAfterJitter   types.String `tfsdk:"expire_after_jitter"`
	ExpiresAt           types.String `tfsdk:"expires_at"`
	ReadyForRotation    types.Bool   `tfsdk:"ready_for_rotation"`
	RevokeOnDestroy     types.Bool   `tfsdk:"revoke_on_destroy"`
	Keepers             types.Map    `tfsdk:"keepers"`
}

func (r *tokenResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_token"
}

func (r *tokenResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A GET access token with the rights of one access policy. Trace writers and readers send it as the password of HTTP Basic auth, with the tenant as the user.\n\n" +
			"Tokens are immutable: every change replaces the token. The secret (`token`) is known only from the create response, " +
			"and a token name can never be used again, even after revocation — so prefer `name_prefix`, which gets a unique suffix on each replacement. " +
			"A token with `name_prefix` revoked outside Terraform is dropped from the state with a warning, and the next plan creates a new one; one found expired stays in the state and the plan replaces it " +
			"(so that a token the server still honours, its clock behind the provider's, is revoked rather than left unmanaged); " +
			"one with a fixed `name`, which can never be made again, stays in the state with a warning on every plan until it gets a new name, so that it blocks no other change. " +
			"Destroying a token revokes it at once, unless `revoke_on_destroy = false`.\n\n" +
			"**Rotation.** With `expire_after` (a lifetime) and `early_rotation_window`, a plan made within the window before the token expires " +
			"replaces it, showing `ready_for_rotation` going to `true` as the reason. For consumers to never hold a dead token, combine it with " +
			"`lifecycle { create_before_destroy = true }`, so the new token exists before the old one goes, and, where consumers need time to pick " +
			"up the new secret, `revoke_on_destroy = false`, so the old token keeps working until it expires on its own." +
			"\n\nImport by name: `terraform import`, an `import` block with `id`, or, with Terraform 1.12 or OpenTofu 1.12 and later, an `import` block with `identity = { name = ... }` (the name is the identity of every kind: unique on the admin API for good).",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				MarkdownDescription: "Token name: 1 to 128 characters of lower-case letters, digits, `_` and `-`. Exactly one of `name` or `name_prefix` is required. " +
					"A name cannot be reused, so a change that replaces a token with a fixed name fails at plan; with `name_prefix` this is the generated name.",
				Optional: true,
				Computed: true,
				Validators: []validator.String{
					objectName("token"),
					stringvalidator.ExactlyOneOf(path.MatchRoot("name"), path.MatchRoot("name_prefix")),
				},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplace()},
			},
			"name_prefix": schema.StringAttribute{
				MarkdownDescription: "Creates a unique name beginning with this prefix: a `-` (unless the prefix ends in `-` or `_`) and 12 random characters are appended. 1 to 100 characters of lower-case letters, digits, `_` and `-`. " +
					"Changing it replaces the token; setting it on an imported token whose name begins with it does not, nor does replacing it with `name` set to the name it generated.",
				Optional:   true,
				Validators: []validator.String{namePrefix()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(
					func(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
						var name, configName types.String
						resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("name"), &name)...)
						resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("name"), &configName)...)
						adopted := imported(ctx, req.Private) && req.StateValue.IsNull() && !req.PlanValue.IsUnknown() &&
							prefixedBy(name.ValueString(), req.PlanValue.ValueString())
						resp.RequiresReplace = !adopted && !pinsName(req.PlanValue, configName, name)
					},
					"Replaces the token when the prefix changes; an imported token whose name begins with the prefix is kept, and so is a token whose generated name the configuration now names.",
					"Replaces the token when the prefix changes; an imported token whose name begins with the prefix is kept, and so is a token whose generated name the configuration now names.",
				)},
			},
			"display_name": schema.StringAttribute{
				MarkdownDescription: "Human-readable name. Changing it replaces the token; omitting it and setting it to the token's name are the same.",
				Optional:            true,
				Validators:          []validator.String{displayName()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(
					func(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
						var name types.String
						resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("name"), &name)...)
						resp.RequiresReplace = !sameDisplayName(req.PlanValue, req.StateValue, name.ValueString())
					},
					"Replaces the token when the display name changes.",
					"Replaces the token when the display name changes.",
				)},
			},
			"access_policy": schema.StringAttribute{
				MarkdownDescription: "Name of the active access policy whose rights the token carries. Changing it replaces the token.",
				Required:            true,
				Validators:          []validator.String{objectName("access policy")},
				PlanModifiers:       replace,
			},
			"expiration": schema.StringAttribute{
				MarkdownDescription: "When the token stops working, as an RFC 3339 time in whole seconds in the future (checked when the token is created), such as `2027-01-31T00:00:00Z`. " +
					"No expiry when omitted. Changing the instant replaces the token; writing the same instant another way (another offset) changes nothing on the server.",
				Optional:   true,
				Validators: []validator.String{rfc3339WholeSeconds()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(
					func(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
						var lifetime types.String
						resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("expire_after"), &lifetime)...)
						resp.RequiresReplace = !sameInstant(req.PlanValue.ValueString(), req.StateValue.ValueString()) &&
							!adoptsExpiration(ctx, req.Private, req.PlanValue, lifetime)
					},
					"Replaces the token when the expiration names another instant.",
					"Replaces the token when the expiration names another instant.",
				)},
			},
			"expire_after": schema.StringAttribute{
				MarkdownDescription: "Lifetime of the token, as a Go duration such as `720h`: it expires this long after it is created. " +
					"Conflicts with `expiration`; needs `name_prefix`, since a rotated token needs a new name. Changing it replaces the token; " +
					"setting it on an imported token does not: that token keeps the expiration the server reports, and its successors get the lifetime.",
				Optional:   true,
				Validators: []validator.String{duration()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(
					func(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
						resp.RequiresReplace = !imported(ctx, req.Private) || !req.StateValue.IsNull()
					},
					"Replaces the token when the lifetime changes; an imported token keeps its expiration.",
					"Replaces the token when the lifetime changes; an imported token keeps its expiration.",
				)},
			},
			"early_rotation_window": schema.StringAttribute{
				MarkdownDescription: "How long before the token expires a plan replaces it, as a Go duration such as `168h`; shorter than `expire_after`, which it needs. " +
					"Changing it replaces nothing: the window a token was applied with is the one that counts, and a new one takes effect once applied (removing it stops rotations at once). " +
					"The time that counts is when the plan's refresh read the token (with `-refresh=false`, the last refresh or apply), " +
					"so a saved plan applies what it showed, even if the window opens before the apply or the new window is only known then, and the next plan rotates.",
				Optional:   true,
				Validators: []validator.String{durationAtLeastZero()},
			},
			"expire_after_jitter": schema.StringAttribute{
				MarkdownDescription: "Shortens each token's lifetime by a random part of this duration, such as `24h`, so that tokens created together (a fleet installed at once) " +
					"do not all expire, and rotate, together. Needs `expire_after`, and must be shorter than `expire_after` less `early_rotation_window`, so that no token is made inside its window. " +
					"Changing it replaces nothing: it applies to the tokens created from then on.",
				Optional:   true,
				Validators: []validator.String{durationAtLeastZero()},
			},
			"keepers": schema.MapAttribute{
				MarkdownDescription: "Arbitrary strings whose change replaces the token, as `keepers` in the random provider: a rotation on demand, such as `keepers = { rotation = \"2\" }`, " +
					"without `replace_triggered_by` and another resource (whose destroy ordering makes plans slow when many tokens rotate at once). " +
					"Setting keepers on a token that has none records them without replacing it, so that they can be added to tokens that exist; " +
					"any later change replaces it, removing them included. Nothing of them is sent to the server.",
				ElementType: types.StringType,
				Optional:    true,
			},
			"expires_at": schema.StringAttribute{
				MarkdownDescription: "When the token stops working (RFC 3339, UTC), as the server reports it; null when it never expires.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"ready_for_rotation": schema.BoolAttribute{
				MarkdownDescription: "`true` once a refresh finds the token within `early_rotation_window` of `expires_at`: the plan then replaces the token, showing this going to `false` (the new token's) as what forces the replacement. `false` otherwise.",
				Computed:            true,
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"revoke_on_destroy": schema.BoolAttribute{
				MarkdownDescription: "Whether destroying or replacing the token revokes it. `false` leaves it to expire on its own, so consumers keep a working token " +
					"until they pick up its replacement; it needs `expiration` or `expire_after`, so that nothing is left working forever. Defaults to `true`. " +
					"The value a token was applied with is what its destruction does, so a change of it is applied on its own: a plan that changes it and replaces the token for another reason is refused, " +
					"and a rotation that falls due meanwhile waits for the next plan. Every plan that replaces a token says whether the old one is revoked or left working.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "The secret, known only from the create response. Null for an imported token.",
				Computed:            true,
				Sensitive:           true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "`active` while the token works.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"created_at": schema.StringAttribute{
				MarkdownDescription: "When the token was created (RFC 3339), as the server reports it.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

// ValidateConfig checks the rotation settings against each other, so that
// a token that could never rotate, or could be left working forever, fails
// at plan.
func (r *tokenResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var c tokenModel
	resp.Diagnostics.Append(getModel(ctx, req.Config.Schema, req.Config.Raw, &c)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Unknown values (variables during validate, values of other
	// resources) are checked again once they are known, at plan.
	set := func(v types.String) bool { return !v.IsNull() && !v.IsUnknown() }
	if set(c.ExpireAfter) && set(c.Expiration) {
		resp.Diagnostics.AddAttributeError(path.Root("expire_after"), "Conflicting expirations",
			"Set either expiration (a fixed instant) or expire_after (a lifetime counted from creation), not both.")
	}
	if (set(c.ExpireAfter) || set(c.EarlyRotationWindow)) && set(c.Name) {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "A token with a fixed name cannot rotate",
			"expire_after and early_rotation_window make the token be replaced, and a replacement needs a name never used before: "+
				"use name_prefix instead of name.")
	}
	if set(c.EarlyRotationWindow) && c.ExpireAfter.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("early_rotation_window"), "early_rotation_window needs expire_after",
			"The window is counted back from an expiration that expire_after sets; set expire_after, such as \"720h\".")
	}
	if set(c.ExpireAfterJitter) && c.ExpireAfter.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("expire_after_jitter"), "expire_after_jitter needs expire_after",
			"The jitter shortens the lifetime expire_after sets; set expire_after, such as \"720h\".")
	}
	if jitter, lifetime, ok := knownDurations(c.ExpireAfterJitter, c.ExpireAfter); ok {
		window, _, _ := knownDurations(c.EarlyRotationWindow, c.ExpireAfter)
		if jitter >= lifetime-window {
			resp.Diagnostics.AddAttributeError(path.Root("expire_after_jitter"), "expire_after_jitter is too long",
				fmt.Sprintf("A jitter of %s could make a token expire %s after it is created, inside its early rotation window (%s): make it shorter than expire_after less early_rotation_window (%s).",
					jitter, lifetime-jitter, window, lifetime-window))
		}
	}
	if window, lifetime, ok := knownDurations(c.EarlyRotationWindow, c.ExpireAfter); ok && window >= lifetime {
		resp.Diagnostics.AddAttributeError(path.Root("early_rotation_window"), "early_rotation_window is not shorter than expire_after",
			fmt.Sprintf("A window of %s in a lifetime of %s would replace every token as soon as it is made; make the window shorter than expire_after.", window, lifetime))
	}
	if !c.RevokeOnDestroy.IsNull() && !c.RevokeOnDestroy.IsUnknown() && !c.RevokeOnDestroy.ValueBool() &&
		c.Expiration.IsNull() && c.ExpireAfter.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("revoke_on_destroy"), "A token left behind would never stop working",
			"revoke_on_destroy = false leaves a replaced or destroyed token to expire on its own, so it needs expiration or expire_after.")
	}
}

// knownDurations parses two configured durations, when both are known.
func knownDurations(a, b types.String) (time.Duration, time.Duration, bool) {
	if a.IsNull() || a.IsUnknown() || b.IsNull() || b.IsUnknown() {
		return 0, 0, false
	}
	da, errA := time.ParseDuration(a.ValueString())
	db, errB := time.ParseDuration(b.ValueString())
	return da, db, errA == nil && errB == nil
}

func (r *tokenResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = nameIdentitySchema("token")
}

func (r *tokenResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan catches at plan what would otherwise fail half-way through an
// apply: an expiration already past, and a token name that is taken.
func (r *tokenResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		var state tokenModel
		resp.Diagnostics.Append(getModel(ctx, req.State.Schema, req.State.Raw, &state)...)
		if !state.RevokeOnDestroy.IsNull() && !state.RevokeOnDestroy.ValueBool() {
			resp.Diagnostics.AddWarning(fmt.Sprintf("Token %q is not revoked", state.Name.ValueString()),
				fmt.Sprintf("revoke_on_destroy = false: the token is removed from the state but keeps working until it expires (%s).", state.ExpiresAt.ValueString()))
		}
		return
	}
	var plan, config tokenModel
	resp.Diagnostics.Append(getModel(ctx, req.Plan.Schema, req.Plan.Raw, &plan)...)
	resp.Diagnostics.Append(getModel(ctx, req.Config.Schema, req.Config.Raw, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}

	if !req.State.Raw.IsNull() {
		var state tokenModel
		resp.Diagnostics.Append(getModel(ctx, req.State.Schema, req.State.Raw, &state)...)
		adopting := imported(ctx, req.Private)
		// An imported token takes on the prefix its name begins with and the
		// lifetime of the configuration without being replaced.
		adoptsPrefix := adopting && state.NamePrefix.IsNull() && !plan.NamePrefix.IsUnknown() && prefixedBy(state.Name.ValueString(), plan.NamePrefix.ValueString())
		adoptsLifetime := adopting && state.ExpireAfter.IsNull()
		changed := (!plan.NamePrefix.Equal(state.NamePrefix) && !adoptsPrefix && !pinsName(plan.NamePrefix, config.Name, state.Name)) ||
			(!plan.ExpireAfter.Equal(state.ExpireAfter) && !adoptsLifetime) ||
			!sameDisplayName(plan.DisplayName, state.DisplayName, state.Name.ValueString()) ||
			!plan.AccessPolicy.Equal(state.AccessPolicy) ||
			(!plan.Expiration.Equal(state.Expiration) && !sameInstant(plan.Expiration.ValueString(), state.Expiration.ValueString()) &&
				!adoptsExpiration(ctx, req.Private, plan.Expiration, plan.ExpireAfter))
		rekept := keepersChanged(plan.Keepers, state.Keepers)
		if rekept {
			changed = true
			resp.RequiresReplace.Append(path.Root("keepers"))
		}
		due := !adopting && r.rotationDue(ctx, plan, state, req.Private)
		if due && r.held(ctx, state, req.Private) {
			due = false
			resp.Diagnostics.AddAttributeWarning(path.Root("ready_for_rotation"), fmt.Sprintf("Rotation of token %q is held", state.Name.ValueString()),
				fmt.Sprintf("It is due for rotation (it expires at %s), and the provider's rotation_hold names it: this plan keeps it, and a later one rotates it.",
					state.ExpiresAt.ValueString()))
		}
		// What destroying the replaced token does is what its state says:
		// with create_before_destroy it is destroyed from its own state,
		// after its replacement exists, with nothing of this plan. So a
		// change of revoke_on_destroy is applied first, on its own: a
		// rotation waits for the next plan, and a change that replaces the
		// token now is refused.
		flips := !plan.RevokeOnDestroy.IsUnknown() && !state.RevokeOnDestroy.IsNull() && !plan.RevokeOnDestroy.Equal(state.RevokeOnDestroy)
		if flips && (changed || due) {
			name, now := state.Name.ValueString(), plan.RevokeOnDestroy.ValueBool()
			if changed {
				resp.Diagnostics.AddAttributeError(path.Root("revoke_on_destroy"), fmt.Sprintf("Token %q: revoke_on_destroy changes in the plan that replaces it", name),
					fmt.Sprintf("This plan replaces the token and sets revoke_on_destroy = %v, but the token being replaced was applied with revoke_on_destroy = %v, "+
						"and that is what its destruction would do. Apply the change of revoke_on_destroy on its own first (it changes nothing on the server), "+
						"then the change that replaces the token.", now, !now))
				return
			}
			due = false
			resp.Diagnostics.AddAttributeWarning(path.Root("revoke_on_destroy"), fmt.Sprintf("Rotation of token %q waits for the next plan", name),
				fmt.Sprintf("It is due for rotation, and revoke_on_destroy changes to %v: this apply records the new setting, "+
					"and the next plan rotates the token under it.", now))
		}
		if due {
			// The replacement needs a value that changes: the refresh that
			// found the token in its window set true, and the new token's is
			// false. (When the window only now covers it, false to true.)
			plan.ReadyForRotation = types.BoolValue(!state.ReadyForRotation.ValueBool())
			resp.RequiresReplace.Append(path.Root("ready_for_rotation"))
			resp.Diagnostics.AddAttributeWarning(path.Root("ready_for_rotation"), fmt.Sprintf("Token %q is due for rotation", state.Name.ValueString()),
				fmt.Sprintf("It expires at %s, within early_rotation_window (%s): this plan replaces it.",
					state.ExpiresAt.ValueString(), plan.EarlyRotationWindow.ValueString()))
		}
		replaced := changed || due
		if adopting && !replaced && adoptsLifetime && !plan.ExpireAfter.IsNull() && state.ExpiresAt.IsNull() {
			resp.Diagnostics.AddAttributeWarning(path.Root("expire_after"), fmt.Sprintf("Imported token %q never expires", state.Name.ValueString()),
				"The server reports no expiration for it, so its rotation window never opens: it is kept as it is, and only its replacements "+
					"get the lifetime of expire_after. Replace it (-replace) once its consumers can take a new secret.")
		}
		if replaced && !config.Name.IsNull() && plan.Name.Equal(state.Name) {
			resp.Diagnostics.AddAttributeError(path.Root("name"), fmt.Sprintf("Token %q would be replaced under the same name", state.Name.ValueString()),
				"Tokens are immutable, so this change replaces the token, and the admin API never lets a token name be used again, even after revocation. "+
					"Give the token a new name, or use name_prefix instead of name so that every replacement gets a unique one.")
		}
		if replaced && config.Name.IsNull() {
			plan.Name = types.StringUnknown() // a new name is generated
		}
		if replaced && !plan.RevokeOnDestroy.IsUnknown() {
			if plan.RevokeOnDestroy.ValueBool() {
				resp.Diagnostics.AddWarning(fmt.Sprintf("Replacing token %q revokes it", state.Name.ValueString()),
					"Whoever still uses its secret is refused once the old token is destroyed. Set revoke_on_destroy = false (with "+
						"create_before_destroy) to leave it working until it expires while consumers pick up the new secret.")
			} else {
				resp.Diagnostics.AddWarning(fmt.Sprintf("Replacing token %q leaves it working", state.Name.ValueString()),
					fmt.Sprintf("revoke_on_destroy = false: the replaced token is removed from the state and keeps working until it expires (%s).",
						orNever(state.ExpiresAt)))
			}
		}
		resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
		return // the replacement's create is planned in a call of its own
	}

	// A new token: known at plan as far as the configuration tells.
	plan.ReadyForRotation = types.BoolValue(false)
	switch {
	case !plan.Expiration.IsNull() && !plan.Expiration.IsUnknown():
		if exp, err := time.Parse(time.RFC3339, plan.Expiration.ValueString()); err == nil {
			plan.ExpiresAt = types.StringValue(exp.UTC().Format(time.RFC3339))
		}
	case plan.Expiration.IsNull() && plan.ExpireAfter.IsNull():
		plan.ExpiresAt = types.StringNull()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)

	if !plan.Expiration.IsNull() && !plan.Expiration.IsUnknown() {
		if exp, err := time.Parse(time.RFC3339, plan.Expiration.ValueString()); err == nil && r.data != nil && !exp.After(r.data.now()) {
			resp.Diagnostics.AddAttributeError(path.Root("expiration"), "Token expiration is in the past",
				fmt.Sprintf("%s has passed; a new token needs an expiration in the future.", plan.Expiration.ValueString()))
		}
	}
	if config.Name.IsNull() || plan.Name.IsUnknown() || r.data == nil {
		return
	}
	name := plan.Name.ValueString()
	existing, err := r.data.client.GetToken(ctx, name)
	switch {
	case isNotFound(err):
	case err != nil:
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot check whether token name %q is free", name), err)
	default:
		detail := fmt.Sprintf("A token named %q exists on the server (status %s), and a token name can never be used again.\n\n"+
			"If this plan replaces the token (-replace, replace_triggered_by, or a changed attribute), it needs a new name: "+
			"change name, or use name_prefix so that every replacement gets a unique one.", name, existing.Status)
		if existing.Status != adminapi.StatusInactive {
			detail += fmt.Sprintf("\n\nIf instead the existing token is the one you meant and it is not in this state, import it "+
				"(terraform import 'tempo_token.<resource name>' %s); its secret cannot be recovered.", name)
		}
		resp.Diagnostics.AddAttributeError(path.Root("name"), fmt.Sprintf("Token name %q is already taken", name), detail)
	}
}

// keepersChanged reports whether a token's keepers changed in a way that
// replaces it: keepers set where there were none are recorded in place.
func keepersChanged(plan, state types.Map) bool {
	if state.IsNull() || (!state.IsUnknown() && len(state.Elements()) == 0) {
		return false
	}
	if plan.IsUnknown() {
		return true
	}
	if plan.IsNull() {
		return true
	}
	return !plan.Equal(state)
}

// rotationDue reports whether the token was inside its early rotation
// window when it was last read. The time of that read is a fact of the
// state, so the decision is the same when Terraform plans again at apply,
// however long after the plan: a saved plan applies what it showed, and
// the plan after it rotates.
//
// The window is the state's, the one the token was last applied with: a
// window the configuration changes (or that is not known until apply)
// takes effect once applied, so the decision never differs between the
// plan and the apply. A configuration that drops the window stops
// rotations at once. A token with name_prefix found expired is due
// whatever the window: it is replaced, never dropped from the state,
// where a token the server still honours (its clock behind the
// provider's) would go on working, managed by nobody.
func (r *tokenResource) rotationDue(ctx context.Context, plan, state tokenModel, p privateReader) bool {
	if r.data == nil || state.ExpiresAt.IsNull() {
		return false
	}
	exp, err := time.Parse(time.RFC3339, state.ExpiresAt.ValueString())
	if err != nil {
		return false
	}
	at := readAt(ctx, p, r.data.now)
	if !at.Before(exp) && !state.NamePrefix.IsNull() {
		return true
	}
	if state.EarlyRotationWindow.IsNull() || plan.EarlyRotationWindow.IsNull() {
		return false
	}
	window, err := time.ParseDuration(state.EarlyRotationWindow.ValueString())
	return err == nil && !at.Before(exp.Add(-window))
}

// held reports whether rotation_hold defers the token's rotation. A token
// found expired is never held: it no longer works.
func (r *tokenResource) held(ctx context.Context, state tokenModel, p privateReader) bool {
	if r.data == nil || !r.data.hold[state.Name.ValueString()] {
		return false
	}
	exp, err := time.Parse(time.RFC3339, state.ExpiresAt.ValueString())
	return err == nil && readAt(ctx, p, r.data.now).Before(exp)
}

// readAtKey holds, in private state, when the token was last read from
// the server (or created): the "now" of its rotation decisions.
const readAtKey = "read_at"

func writeReadAt(ctx context.Context, p privateWriter, now time.Time) diag.Diagnostics {
	return p.SetKey(ctx, readAtKey, []byte(strconv.Quote(now.UTC().Format(time.RFC3339Nano))))
}

// readAt is when the token was last read; a state written before this was
// recorded falls back to the clock.
func readAt(ctx context.Context, p privateReader, now func() time.Time) time.Time {
	if p != nil {
		if b, diags := p.GetKey(ctx, readAtKey); !diags.HasError() && len(b) > 0 {
			if s, err := strconv.Unquote(string(b)); err == nil {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					return t
				}
			}
		}
	}
	return now()
}

func (m *tokenModel) fromAPI(t *adminapi.Token) {
	m.Name = types.StringValue(t.Name)
	// A display name written out as the name it defaults to stays as
	// written, whether or not the server stores the default.
	if !sameDisplayName(m.DisplayName, nullIfEmpty(t.DisplayName), t.Name) {
		m.DisplayName = displayNameFrom(m.DisplayName, t.DisplayName, t.Name)
	}
	m.AccessPolicy = types.StringValue(t.AccessPolicy)
	m.Status = types.StringValue(t.Status)
	m.CreatedAt = instant(t.CreatedAt)
	m.ExpiresAt = instant(t.Expiration)
	if m.ReadyForRotation.IsNull() || m.ReadyForRotation.IsUnknown() {
		m.ReadyForRotation = types.BoolValue(false)
	}
	if m.RevokeOnDestroy.IsNull() || m.RevokeOnDestroy.IsUnknown() {
		m.RevokeOnDestroy = types.BoolValue(true)
	}
	// A lifetime, not an instant, was configured: expires_at holds it.
	if !m.ExpireAfter.IsNull() {
		return
	}
	// Keep the configured spelling of the expiration when the server writes
	// the same instant differently (another offset, fewer digits).
	if !sameInstant(m.Expiration.ValueString(), t.Expiration) {
		m.Expiration = instant(t.Expiration)
	}
}

// sameDisplayName compares display names as the server sees them: an
// omitted one is the token's name.
func sameDisplayName(a, b types.String, name string) bool {
	if a.IsUnknown() || b.IsUnknown() {
		return a.Equal(b)
	}
	eff := func(v types.String) string {
		if v.IsNull() {
			return name
		}
		return v.ValueString()
	}
	return eff(a) == eff(b)
}

func sameInstant(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339, a)
	tb, errB := time.Parse(time.RFC3339, b)
	return errA == nil && errB == nil && ta.Equal(tb)
}

// generateName appends a random suffix to prefix. Twelve characters of
// a-z0-9 make a collision with another run practically impossible.
func generateName(prefix string) string {
	if !strings.HasSuffix(prefix, "-") && !strings.HasSuffix(prefix, "_") {
		prefix += "-"
	}
	return prefix + strings.ToLower(rand.Text()[:12])
}

func (r *tokenResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan tokenModel
	resp.Diagnostics.Append(getModel(ctx, req.Plan.Schema, req.Plan.Raw, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	generated := plan.Name.IsUnknown() || plan.Name.IsNull()
	name := plan.Name.ValueString()
	if generated {
		name = generateName(plan.NamePrefix.ValueString())
	}
	want := adminapi.Token{
		DisplayName:  plan.DisplayName.ValueString(),
		AccessPolicy: plan.AccessPolicy.ValueString(),
		Expiration:   plan.Expiration.ValueString(),
	}
	if !plan.ExpireAfter.IsNull() {
		lifetime, err := time.ParseDuration(plan.ExpireAfter.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("expire_after"), "Invalid expire_after", err.Error())
			return
		}
		if !plan.ExpireAfterJitter.IsNull() {
			jitter, err := time.ParseDuration(plan.ExpireAfterJitter.ValueString())
			if err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("expire_after_jitter"), "Invalid expire_after_jitter", err.Error())
				return
			}
			if jitter > 0 {
				lifetime -= mathrand.N(jitter) //nolint:gosec // spreads expirations; nothing secret depends on it
			}
		}
		want.Expiration = r.data.now().Add(lifetime).UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	// A create whose answer was lost leaves a token whose secret nobody
	// has; the client revokes it. A generated name can simply be drawn
	// again, once: a second loss in a row is reported, not chased.
	want.Name = name
	got, err := r.data.client.CreateToken(ctx, want)
	if generated && errors.Is(err, adminapi.ErrOrphanRevoked) {
		want.Name = generateName(plan.NamePrefix.ValueString())
		got, err = r.data.client.CreateToken(ctx, want)
		if err == nil {
			resp.Diagnostics.AddWarning(fmt.Sprintf("Token %q was created, lost and revoked", name),
				fmt.Sprintf("The server created the token but its answer, the only one carrying the secret, was lost on the way. "+
					"So that no working credential is left that nobody holds, it was revoked, and the token was created again as %q.", want.Name))
		}
	}
	if err != nil {
		summary := fmt.Sprintf("Cannot create token %q", want.Name)
		switch {
		case errors.Is(err, adminapi.ErrOrphanRevoked) && !generated:
			resp.Diagnostics.AddAttributeError(path.Root("name"), summary,
				err.Error()+". The name is now spent (token names are never reused): choose another name, or use name_prefix so that a lost answer is retried under a new one.")
		case errors.Is(err, adminapi.ErrNameTaken):
			resp.Diagnostics.AddAttributeError(path.Root("name"), summary,
				err.Error()+". A token name can never be used again: choose another name, or use name_prefix.")
		default:
			addAPIError(&resp.Diagnostics, summary, err)
		}
		return
	}
	plan.fromAPI(got)
	plan.Token = types.StringValue(got.Secret.Reveal())
	recordObject(ctx, &resp.State, resp.Private, resp.Identity, plan, plan.Name, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(writeReadAt(ctx, resp.Private, r.data.now())...)
}

func (r *tokenResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state tokenModel
	resp.Diagnostics.Append(getModel(ctx, req.State.Schema, req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	got, err := r.data.client.GetToken(ctx, name)
	if err != nil && !isNotFound(err) {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot read token %q", name), err)
		return
	}
	if got != nil && got.Status != adminapi.StatusActive && got.Status != adminapi.StatusInactive {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Token %q has status %q", name, got.Status),
			"The admin API reports a status other than active or inactive. Only inactive means revoked, so the token is kept: "+
				"dropping it would make the next plan create another while this one may still work. Check it on the server.")
	}
	gone := tokenGone(got, err, r.data.now())
	// A token with a fixed name cannot be made again under that name:
	// dropped from the state, every later plan would fail on it, blocking
	// unrelated changes. It stays, and says what to do; a plan that
	// replaces it (a new name) is the one that meets the rules of a create.
	// An expired token with name_prefix stays too, and the plan replaces
	// it (see rotationDue).
	switch {
	case gone == goneExpired && !state.NamePrefix.IsNull():
		resp.Diagnostics.AddWarning(fmt.Sprintf("Token %q %s", name, gone),
			"The plan replaces it: the replacement gets a new name, and the expired token is revoked (or, with revoke_on_destroy = false, left to the server).")
	case gone != "" && got != nil && state.NamePrefix.IsNull() && !imported(ctx, req.Private):
		resp.Diagnostics.AddWarning(fmt.Sprintf("Token %q %s", name, gone),
			"It no longer works, and its name can never be used again, so nothing replaces it by itself. "+
				"Give the token a new name (and, if it has one, an expiration in the future) to replace it, or use name_prefix so that replacements are named for you; "+
				"remove it from the configuration if it is no longer needed.")
	case gone != "":
		resp.Diagnostics.AddWarning(fmt.Sprintf("Token %q %s", name, gone),
			"It no longer works, so it is removed from the state and the next plan creates a replacement. "+
				"With a fixed name the replacement needs a new one, since token names are never reused; name_prefix handles this by itself.")
		removeFromState(ctx, resp, state.Name)
		return
	}
	state.fromAPI(got)
	// Whether this read finds the token inside its window, as a fact of
	// the state: a plan that rotates it shows ready_for_rotation going
	// from true to false as what forces the replacement.
	state.ReadyForRotation = types.BoolValue(r.rotationDue(ctx, state, state, nil))
	recordObject(ctx, &resp.State, resp.Private, resp.Identity, state, state.Name, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(writeReadAt(ctx, resp.Private, r.data.now())...)
}

// tokenGone says why a token read back no longer works, or "" when it does.
func tokenGone(t *adminapi.Token, err error, now time.Time) string {
	switch {
	case isNotFound(err):
		return "no longer exists"
	case t.Status == adminapi.StatusInactive:
		return "was revoked outside Terraform"
	case expired(t.Expiration, now):
		return goneExpired
	}
	return ""
}

const goneExpired = "has expired"

// Update only records a change the server cannot see: the same expiration
// written another way, or a display name written as the name it defaults
// to. Every real change replaces the token, so nothing is sent.
func (r *tokenResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state tokenModel
	resp.Diagnostics.Append(getModel(ctx, req.Plan.Schema, req.Plan.Raw, &plan)...)
	resp.Diagnostics.Append(getModel(ctx, req.State.Schema, req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !sameInstant(plan.Expiration.ValueString(), state.Expiration.ValueString()) && !plan.Expiration.Equal(state.Expiration) &&
		!adoptsExpiration(ctx, req.Private, plan.Expiration, plan.ExpireAfter) ||
		!sameDisplayName(plan.DisplayName, state.DisplayName, state.Name.ValueString()) {
		resp.Diagnostics.AddError(fmt.Sprintf("Token %q cannot be updated", state.Name.ValueString()),
			"Tokens are immutable and this change should have replaced the token; this is a bug in the provider. Run plan again, or use -replace.")
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	// Once the configuration is recorded, the token is managed like any
	// other: a later change of prefix or lifetime replaces it.
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importedKey, nil)...)
	setIdentity(ctx, resp.Identity, plan.Name, &resp.Diagnostics)
}

func (r *tokenResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state tokenModel
	resp.Diagnostics.Append(getModel(ctx, req.State.Schema, req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !state.RevokeOnDestroy.IsNull() && !state.RevokeOnDestroy.ValueBool() {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Token %q was left to expire", state.Name.ValueString()),
			fmt.Sprintf("revoke_on_destroy = false: it keeps working until %s.", orNever(state.ExpiresAt)))
		return
	}
	if err := r.data.client.DeleteToken(ctx, state.Name.ValueString(), readVersion(ctx, req.Private)); err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot revoke token %q", state.Name.ValueString()), err)
	}
}

func (r *tokenResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := importName(ctx, req, resp, objectName("token"))
	if name == "" {
		return
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importedKey, []byte("true"))...)
	resp.Diagnostics.AddWarning(fmt.Sprintf("Imported token %q has no secret", name),
		"The admin API shows a token's secret only once, when it is created, so the imported token's token attribute stays null. "+
			"If something needs the secret, replace the token (with name_prefix) so that Terraform creates it and keeps the new secret.")
}

// importedKey marks, in private state, a token imported and not yet
// updated to its configuration: the first plan after an import takes the
// configuration's name_prefix (when the name begins with it) and lifetime
// as they are, in place, instead of replacing, and so revoking, a token
// that someone holds the secret of.
const importedKey = "imported"

func imported(ctx context.Context, p privateReader) bool {
	if p == nil {
		return false
	}
	b, diags := p.GetKey(ctx, importedKey)
	return !diags.HasError() && string(b) == "true"
}

// prefixedBy tells whether name is one that name_prefix could have made.
func prefixedBy(name, prefix string) bool {
	if prefix == "" {
		return false
	}
	if !strings.HasSuffix(prefix, "-") && !strings.HasSuffix(prefix, "_") {
		prefix += "-"
	}
	return len(name) > len(prefix) && strings.HasPrefix(name, prefix)
}

// adoptsExpiration tells whether an imported token's expiration, which the
// configuration leaves out for a lifetime (expire_after), is kept as the
// server reports it.
func adoptsExpiration(ctx context.Context, p privateReader, planned, lifetime types.String) bool {
	return imported(ctx, p) && planned.IsNull() && !lifetime.IsNull()
}

// orNever shows an expiration, or says there is none.
func orNever(v types.String) string {
	if v.IsNull() || v.ValueString() == "" {
		return "never"
	}
	return v.ValueString()
}

// pinsName tells whether the configuration replaces name_prefix with the
// very name it generated: a change of the configuration only.
func pinsName(prefix, configName, stateName types.String) bool {
	return prefix.IsNull() && !configName.IsNull() && !configName.IsUnknown() && configName.Equal(stateName)
}
