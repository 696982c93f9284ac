package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

var (
	_ resource.ResourceWithConfigure   = (*accessPolicyResource)(nil)
	_ resource.ResourceWithIdentity    = (*accessPolicyResource)(nil)
	_ resource.ResourceWithImportState = (*accessPolicyResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*accessPolicyResource)(nil)
)

// NewAccessPolicyResource is the tempo_access_policy resource.
func NewAccessPolicyResource() resource.Resource { return &accessPolicyResource{} }

type accessPolicyResource struct{ data *providerData }

type accessPolicyModel struct {
	Name        types.String `tfsdk:"name"`
	DisplayName types.String `tfsdk:"display_name"`
	Realms      types.Set    `tfsdk:"realm"`
	Scopes      types.Set    `tfsdk:"scopes"`
	Status      types.String `tfsdk:"status"`
	CreatedAt   types.String `tfsdk:"created_at"`
}

type realmModel struct {
	Tenant        types.String `tfsdk:"tenant"`
	Cluster       types.String `tfsdk:"cluster"`
	LabelPolicies types.Set    `tfsdk:"label_policy"`
}

type labelPolicyModel struct {
	Selector types.String `tfsdk:"selector"`
}

var (
	labelPolicyType = types.ObjectType{AttrTypes: map[string]attr.Type{"selector": types.StringType}}
	realmType       = types.ObjectType{AttrTypes: map[string]attr.Type{
		"tenant":       types.StringType,
		"cluster":      types.StringType,
		"label_policy": types.SetType{ElemType: labelPolicyType},
	}}
)

func (r *accessPolicyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_access_policy"
}

func (r *accessPolicyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A GET access policy: the scopes (such as `traces:read`) it grants on its realms (tenants of a cluster). " +
			"Tokens carry an access policy's rights.\n\n" +
			"Realms, label policies and scopes are sets: their order carries no meaning and never shows in a plan. " +
			"Destroying a policy marks it `inactive`, which stops its tokens from working; the name stays taken." +
			"\n\nImport by name: `terraform import`, an `import` block with `id`, or, with Terraform 1.12 or OpenTofu 1.12 and later, an `import` block with `identity = { name = ... }` (the name is the identity of every kind: unique on the admin API for good).",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				MarkdownDescription: "Name: 1 to 128 characters of lower-case letters, digits, `_` and `-`. Changing it replaces the policy.",
				Required:            true,
				Validators:          []validator.String{objectName("access policy")},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"display_name": schema.StringAttribute{
				MarkdownDescription: "Human-readable name.",
				Optional:            true,
				Validators:          []validator.String{displayName()},
			},
			"scopes": schema.SetAttribute{
				MarkdownDescription: "What the policy allows, each as `<resource>:<action>`: `traces:read`, `traces:write` and `traces:delete` for traces, " +
					"`admin:read` and `admin:write` for the admin API itself; other GET-family scopes such as `metrics:read` are accepted as written.",
				Required:    true,
				ElementType: types.StringType,
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(scope()),
				},
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "`active` or `inactive`. Defaults to `active`; a policy deactivated outside Terraform shows as a change back to `active`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(adminapi.StatusActive),
				Validators:          []validator.String{stringvalidator.OneOf(adminapi.StatusActive, adminapi.StatusInactive)},
			},
			"created_at": schema.StringAttribute{
				MarkdownDescription: "When the policy was created (RFC 3339), as the server reports it.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
		Blocks: map[string]schema.Block{
			"realm": schema.SetNestedBlock{
				MarkdownDescription: "A tenant of a cluster the scopes apply to. At least one.",
				Validators:          []validator.Set{setvalidator.IsRequired(), setvalidator.SizeAtLeast(1)},
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"tenant": schema.StringAttribute{
							MarkdownDescription: "Tenant name, or `*` for every tenant of the cluster. The tenant need not exist yet.",
							Required:            true,
							Validators:          []validator.String{realmTenant()},
						},
						"cluster": schema.StringAttribute{
							MarkdownDescription: "Cluster of the tenant. Defaults to the provider's `cluster` for a new realm; a realm the state already holds keeps its cluster when the provider's changes.",
							Optional:            true,
							Computed:            true,
							Validators:          []validator.String{clusterName()},
						},
					},
					Blocks: map[string]schema.Block{
						"label_policy": schema.SetNestedBlock{
							MarkdownDescription: "Restricts the realm to data matching a label selector. Label-based access control applies to metrics and logs; GET accepts it for traces but does not filter spans by it.",
							NestedObject: schema.NestedBlockObject{
								Attributes: map[string]schema.Attribute{
									"selector": schema.StringAttribute{
										MarkdownDescription: "Label selector in braces, such as `{env=\"prod\"}`.",
										Required:            true,
										Validators:          []validator.String{labelSelector()},
									},
								},
							},
						},
					},
				},
			},
		},
	}
}

func (r *accessPolicyResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = nameIdentitySchema("access policy")
}

func (r *accessPolicyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan gives realms without a cluster the provider's cluster, so that
// the plan shows it and a later plan compares like with like, and checks at
// plan what a create would find on the server.
func (r *accessPolicyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		softDeleteWarning(&resp.Diagnostics, "access policy")
		return
	}
	var plan, config accessPolicyModel
	resp.Diagnostics.Append(getModel(ctx, req.Plan.Schema, req.Plan.Raw, &plan)...)
	resp.Diagnostics.Append(getModel(ctx, req.Config.Schema, req.Config.Raw, &config)...)
	if resp.Diagnostics.HasError() || r.data == nil {
		return
	}
	var prior []realmModel
	if !req.State.Raw.IsNull() {
		var state accessPolicyModel
		resp.Diagnostics.Append(getModel(ctx, req.State.Schema, req.State.Raw, &state)...)
		if !state.Realms.IsNull() && !state.Realms.IsUnknown() {
			prior = modelsOf[realmModel](ctx, state.Realms, &resp.Diagnostics)
		}
	}
	r.defaultRealmClusters(ctx, &plan, config, prior, resp)
	if resp.Diagnostics.HasError() {
		return
	}
	if req.State.Raw.IsNull() {
		r.checkCreate(ctx, plan, &resp.Diagnostics)
	}
}

// defaultRealmClusters fills the cluster of realms whose configuration
// omits it: with the cluster the same realm (tenant and label policies) has
// in the state, and only for a realm the state does not hold, with the
// provider's cluster. A change of the provider's cluster thus never moves
// an existing realm, and the tokens of the policy keep their tenant. A
// realm whose cluster is configured but not known yet keeps it unknown:
// overwriting it would plan something other than the configuration says,
// which Terraform rejects.
func (r *accessPolicyResource) defaultRealmClusters(ctx context.Context, plan *accessPolicyModel, config accessPolicyModel, prior []realmModel, resp *resource.ModifyPlanResponse) {
	if plan.Realms.IsUnknown() || plan.Realms.IsNull() || config.Realms.IsUnknown() || config.Realms.IsNull() {
		return
	}
	planned := modelsOf[realmModel](ctx, plan.Realms, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !slices.ContainsFunc(planned, func(rm realmModel) bool { return rm.Cluster.IsUnknown() }) {
		return
	}
	// A realm has no computed attribute but its cluster, so the planned set
	// is the configured one with omitted clusters filled in.
	realms := modelsOf[realmModel](ctx, config.Realms, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// A state realm serves at most one configured realm, and never one
	// the configuration names with its cluster.
	claimed := make([]bool, len(prior))
	for _, rm := range realms {
		for j, p := range prior {
			if !claimed[j] && rm.Tenant.Equal(p.Tenant) && rm.Cluster.Equal(p.Cluster) && rm.LabelPolicies.Equal(p.LabelPolicies) {
				claimed[j] = true
				break
			}
		}
	}
	for i := range realms {
		if !realms[i].Cluster.IsNull() {
			continue
		}
		// The same realm, or else one of the same tenant whose label
		// policies changed.
		free := func(sameLabels bool) func(realmModel) bool {
			return func(p realmModel) bool {
				return realms[i].Tenant.Equal(p.Tenant) && (!sameLabels || realms[i].LabelPolicies.Equal(p.LabelPolicies)) &&
					!p.Cluster.IsNull() && !p.Cluster.IsUnknown()
			}
		}
		pick := func(match func(realmModel) bool) int {
			for j, p := range prior {
				if !claimed[j] && match(p) {
					return j
				}
			}
			return -1
		}
		j := pick(free(true))
		if j < 0 {
			j = pick(free(false))
		}
		if j >= 0 {
			claimed[j] = true
			realms[i].Cluster = prior[j].Cluster
			continue
		}
		cluster, err := r.data.Cluster(ctx)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("realm"), "Cannot choose a realm's cluster", err.Error())
			return
		}
		realms[i].Cluster = types.StringValue(cluster)
	}
	// Two realms that are one once the default is filled in.
	for i := range realms {
		for j := range i {
			if realms[i].Tenant.Equal(realms[j].Tenant) && realms[i].Cluster.Equal(realms[j].Cluster) && realms[i].LabelPolicies.Equal(realms[j].LabelPolicies) {
				resp.Diagnostics.AddAttributeError(path.Root("realm"), "A realm is listed twice",
					fmt.Sprintf("The realm of tenant %q in cluster %q is declared more than once (a realm without cluster gets %q). Remove one of them.",
						realms[i].Tenant.ValueString(), realms[i].Cluster.ValueString(), realms[i].Cluster.ValueString()))
				return
			}
		}
	}
	set, diags := types.SetValueFrom(ctx, realmType, realms)
	resp.Diagnostics.Append(diags...)
	plan.Realms = set
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

// checkCreate looks, at plan, at what the create will find under the name.
// An active policy belongs to someone else or must be imported. An inactive
// one would be re-activated, and with it every token of it that was never
// revoked, now carrying the new scopes: that must not happen silently.
func (r *accessPolicyResource) checkCreate(ctx context.Context, plan accessPolicyModel, diags *diag.Diagnostics) {
	if plan.Name.IsUnknown() || plan.Status.ValueString() == adminapi.StatusInactive {
		return
	}
	name := plan.Name.ValueString()
	existing, err := r.data.client.GetAccessPolicy(ctx, name)
	switch {
	case isNotFound(err):
		return
	case err != nil:
		addAPIError(diags, fmt.Sprintf("Cannot check whether access policy name %q is free", name), err)
		return
	case existing.Status == adminapi.StatusActive:
		nameTakenError(diags, "tempo_access_policy", "access policy", name)
		return
	}
	r.refuseRevival(ctx, name, diags)
}

// refuseRevival fails when re-activating the policy would bring tokens of it
// back to life. The way to do it on purpose is an import, whose plan shows
// the re-activation for review.
func (r *accessPolicyResource) refuseRevival(ctx context.Context, name string, diags *diag.Diagnostics) {
	// Every token but an inactive one may work again: a status the
	// provider does not know is counted as live.
	all, err := r.data.client.ListTokens(ctx, true)
	if err != nil {
		addAPIError(diags, fmt.Sprintf("Cannot list the tokens of the inactive access policy %q", name), err)
		return
	}
	var names []string
	now := r.data.now()
	for _, t := range all {
		if t.AccessPolicy == name && t.Status != adminapi.StatusInactive && !expired(t.Expiration, now) {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	shown := names
	if len(shown) > 10 {
		shown = shown[:10]
	}
	list := "  " + strings.Join(shown, "\n  ")
	if len(names) > len(shown) {
		list += fmt.Sprintf("\n  … and %d more", len(names)-len(shown))
	}
	diags.AddAttributeError(path.Root("name"), fmt.Sprintf("Re-activating access policy %q would revive %d token(s)", name, len(names)),
		fmt.Sprintf("An inactive access policy named %q exists (destroyed earlier: names are never freed), and these tokens of it were never revoked:\n\n%s\n\n"+
			"Creating the policy would re-activate it, and each of these tokens would work again, with the scopes of this configuration. Either:\n"+
			"  - revoke them in an apply of their own first: a token managed in some state with terraform destroy -target='tempo_token.<name>' there, "+
			"any other with DELETE /admin/api/v3/tokens/<token name> and its If-Match version; then apply this again;\n"+
			"  - or, if they should work again, import the policy (import { to = tempo_access_policy.<name>, id = %q }) so that the plan shows the re-activation for review;\n"+
			"  - or give the policy another name.",
			name, list, name))
}

func (m *accessPolicyModel) toAPI(ctx context.Context, diags *diag.Diagnostics) adminapi.AccessPolicy {
	p := adminapi.AccessPolicy{
		Name:        m.Name.ValueString(),
		DisplayName: m.DisplayName.ValueString(),
		Status:      m.Status.ValueString(),
	}
	diags.Append(m.Scopes.ElementsAs(ctx, &p.Scopes, false)...)
	slices.Sort(p.Scopes)
	for _, rm := range modelsOf[realmModel](ctx, m.Realms, diags) {
		realm := adminapi.Realm{Tenant: rm.Tenant.ValueString(), Cluster: rm.Cluster.ValueString()}
		for _, lp := range modelsOf[labelPolicyModel](ctx, rm.LabelPolicies, diags) {
			realm.LabelPolicies = append(realm.LabelPolicies, adminapi.LabelPolicy{Selector: lp.Selector.ValueString()})
		}
		p.Realms = append(p.Realms, realm)
	}
	return p
}

func (m *accessPolicyModel) fromAPI(ctx context.Context, p *adminapi.AccessPolicy, diags *diag.Diagnostics) {
	m.Name = types.StringValue(p.Name)
	m.DisplayName = displayNameFrom(m.DisplayName, p.DisplayName, p.Name)
	m.Status = statusFrom(m.Status, p.Status)
	m.CreatedAt = instant(p.CreatedAt)
	scopes, d := types.SetValueFrom(ctx, types.StringType, p.Scopes)
	diags.Append(d...)
	m.Scopes = scopes
	m.Realms = realmsValue(p.Realms, "label_policy", diags)
}

// realmsValue converts the server's realms into a set of realm objects, for
// the resource and the data source alike. lpKey names the label policy
// attribute: the resource's block is label_policy, the data source's
// attribute label_policies.
func realmsValue(realms []adminapi.Realm, lpKey string, diags *diag.Diagnostics) types.Set {
	objType := types.ObjectType{AttrTypes: map[string]attr.Type{
		"tenant":  types.StringType,
		"cluster": types.StringType,
		lpKey:     types.SetType{ElemType: labelPolicyType},
	}}
	elems := make([]attr.Value, 0, len(realms))
	for _, r := range realms {
		lps := make([]attr.Value, 0, len(r.LabelPolicies))
		for _, lp := range r.LabelPolicies {
			v, d := types.ObjectValue(labelPolicyType.AttrTypes, map[string]attr.Value{"selector": types.StringValue(lp.Selector)})
			diags.Append(d...)
			lps = append(lps, v)
		}
		lpSet, d := types.SetValue(labelPolicyType, lps)
		diags.Append(d...)
		v, d := types.ObjectValue(objType.AttrTypes, map[string]attr.Value{
			"tenant":  types.StringValue(r.Tenant),
			"cluster": types.StringValue(r.Cluster),
			lpKey:     lpSet,
		})
		diags.Append(d...)
		elems = append(elems, v)
	}
	set, d := types.SetValue(objType, elems)
	diags.Append(d...)
	return set
}

func (r *accessPolicyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan accessPolicyModel
	resp.Diagnostics.Append(getModel(ctx, req.Plan.Schema, req.Plan.Raw, &plan)...)
	want := plan.toAPI(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	got, err := r.data.client.CreateAccessPolicy(ctx, want)
	if errors.Is(err, adminapi.ErrNameTaken) {
		got, err = r.adopt(ctx, want, resp)
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot create access policy %q", want.Name), err)
		return
	}
	if got == nil {
		return
	}
	plan.fromAPI(ctx, got, &resp.Diagnostics)
	recordObject(ctx, &resp.State, resp.Private, resp.Identity, plan, plan.Name, got.Version, &resp.Diagnostics)
}

// adopt re-activates an inactive policy of the same name with the planned
// fields; an active one must be imported instead.
func (r *accessPolicyResource) adopt(ctx context.Context, want adminapi.AccessPolicy, resp *resource.CreateResponse) (*adminapi.AccessPolicy, error) {
	existing, err := r.data.client.GetAccessPolicy(ctx, want.Name)
	if err != nil {
		return nil, err
	}
	if existing.Status == adminapi.StatusActive {
		nameTakenError(&resp.Diagnostics, "tempo_access_policy", "access policy", want.Name)
		return nil, nil
	}
	// Checked again here: the plan may not have known the name.
	if want.Status != adminapi.StatusInactive {
		r.refuseRevival(ctx, want.Name, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return nil, nil
		}
	}
	want.Version = existing.Version
	got, err := r.data.client.UpdateAccessPolicy(ctx, want)
	if err != nil {
		return nil, err
	}
	adoptedWarning(&resp.Diagnostics, "access policy", want.Name, existing.Status, want.Status)
	return got, nil
}

func (r *accessPolicyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state accessPolicyModel
	resp.Diagnostics.Append(getModel(ctx, req.State.Schema, req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	got := readByName(ctx, resp, "access policy", state.Name, r.data.client.GetAccessPolicy)
	if got == nil {
		return
	}
	if !knownStatus(got.Status) {
		unknownStatusWarning(&resp.Diagnostics, "access policy", got.Name, got.Status)
	}
	state.fromAPI(ctx, got, &resp.Diagnostics)
	recordObject(ctx, &resp.State, resp.Private, resp.Identity, state, state.Name, got.Version, &resp.Diagnostics)
}

func (r *accessPolicyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan accessPolicyModel
	resp.Diagnostics.Append(getModel(ctx, req.Plan.Schema, req.Plan.Raw, &plan)...)
	want := plan.toAPI(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	want.Version = readVersion(ctx, req.Private)
	got, err := r.data.client.UpdateAccessPolicy(ctx, want)
	if err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot update access policy %q", want.Name), err)
		return
	}
	plan.fromAPI(ctx, got, &resp.Diagnostics)
	recordObject(ctx, &resp.State, resp.Private, resp.Identity, plan, plan.Name, got.Version, &resp.Diagnostics)
}

func (r *accessPolicyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	deactivateByName(ctx, req, resp, "access policy", r.data.client.DeleteAccessPolicy)
}

func (r *accessPolicyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importName(ctx, req, resp, objectName("access policy"))
}
