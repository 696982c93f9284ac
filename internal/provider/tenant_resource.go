package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
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
	_ resource.ResourceWithConfigure   = (*tenantResource)(nil)
	_ resource.ResourceWithIdentity    = (*tenantResource)(nil)
	_ resource.ResourceWithImportState = (*tenantResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*tenantResource)(nil)
)

// NewTenantResource is the tempo_tenant resource.
func NewTenantResource() resource.Resource { return &tenantResource{} }

type tenantResource struct{ data *providerData }

type tenantModel struct {
	Name        types.String `tfsdk:"name"`
	DisplayName types.String `tfsdk:"display_name"`
	Cluster     types.String `tfsdk:"cluster"`
	Status      types.String `tfsdk:"status"`
	CreatedAt   types.String `tfsdk:"created_at"`
}

func (r *tenantResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tenant"
}

func (r *tenantResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A GET tenant. Its name is the tenant ID that trace writers and readers send on the data path.\n\n" +
			"Destroying a tenant marks it `inactive`: the admin API v3 has no hard delete and the name stays taken. " +
			"Creating a tenant whose name exists as inactive re-activates it, with a warning." +
			"\n\nImport by name: `terraform import`, an `import` block with `id`, or, with Terraform 1.12 or OpenTofu 1.12 and later, an `import` block with `identity = { name = ... }` (the name is the identity of every kind: unique on the admin API for good).",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				MarkdownDescription: "Tenant ID: 3 to 64 characters of lower-case letters, digits, `_` and `-`; names starting with `__` are reserved. Changing it replaces the tenant.",
				Required:            true,
				Validators:          []validator.String{tenantName()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"display_name": schema.StringAttribute{
				MarkdownDescription: "Human-readable name. Defaults to `name`.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{displayName()},
			},
			"cluster": schema.StringAttribute{
				MarkdownDescription: "GET cluster the tenant belongs to; the tenant is usable only from it. Defaults to the provider's `cluster`. " +
					"It cannot change: a plan that changes it fails, because the tenant cannot be replaced under the same name (destroying only deactivates it, and names are never freed). " +
					"To move a team to another cluster, declare a tenant with a new name there.",
				Optional:      true,
				Computed:      true,
				Validators:    []validator.String{clusterName()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "`active` or `inactive`. Defaults to `active`; a tenant deactivated outside Terraform shows as a change back to `active`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(adminapi.StatusActive),
				Validators:          []validator.String{stringvalidator.OneOf(adminapi.StatusActive, adminapi.StatusInactive)},
			},
			"created_at": schema.StringAttribute{
				MarkdownDescription: "When the tenant was created (RFC 3339), as the server reports it.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *tenantResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = nameIdentitySchema("tenant")
}

func (r *tenantResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan fills in the defaults that depend on other values, so that the
// plan shows real values rather than "known after apply", and refuses a
// change of cluster, which no apply could carry out.
func (r *tenantResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		softDeleteWarning(&resp.Diagnostics, "tenant")
		return
	}
	var plan, config tenantModel
	resp.Diagnostics.Append(getModel(ctx, req.Plan.Schema, req.Plan.Raw, &plan)...)
	resp.Diagnostics.Append(getModel(ctx, req.Config.Schema, req.Config.Raw, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// A replacement is planned in two calls: this one with the state, then
	// one with none, which the planned private state of the first reaches.
	// A tenant replaced under its own name could never be created again
	// (destroying it only deactivates it), so that second call refuses.
	if req.State.Raw.IsNull() {
		if b, _ := req.Private.GetKey(ctx, replacingKey); len(b) > 0 && !plan.Name.IsUnknown() && string(b) == strconv.Quote(plan.Name.ValueString()) {
			name := plan.Name.ValueString()
			resp.Diagnostics.AddAttributeError(path.Root("name"), fmt.Sprintf("Tenant %q cannot be replaced", name),
				fmt.Sprintf("This plan replaces tenant %q (-replace, replace_triggered_by, or a change that forces it), but a tenant cannot be "+
					"made again under its name: destroying it only deactivates it, and the name is never freed. Change the tenant in place instead, "+
					"or declare a tenant with a new name and remove this one when its users have moved.", name))
			return
		}
	}
	if !req.State.Raw.IsNull() {
		var state tenantModel
		resp.Diagnostics.Append(getModel(ctx, req.State.Schema, req.State.Raw, &state)...)
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, replacingKey, []byte(strconv.Quote(state.Name.ValueString())))...)
		if clusterChanged(state, plan) {
			resp.Diagnostics.AddAttributeError(path.Root("cluster"), fmt.Sprintf("Tenant %q cannot move to cluster %q", state.Name.ValueString(), plan.Cluster.ValueString()),
				fmt.Sprintf("The tenant belongs to cluster %q, and a tenant's cluster never changes. Replacing the tenant cannot work either: "+
					"destroying it only deactivates it (writes start failing) and its name is never freed, so no new tenant %q can be created. "+
					"Keep cluster = %q, or declare a tenant with a new name in cluster %q and remove this one when its users have moved.",
					state.Cluster.ValueString(), state.Name.ValueString(), state.Cluster.ValueString(), plan.Cluster.ValueString()))
			return
		}
	}
	if config.DisplayName.IsNull() && !plan.Name.IsUnknown() {
		plan.DisplayName = plan.Name
	}
	// Only an omitted cluster takes the provider's; one that is merely not
	// known yet (from another resource) stays unknown until apply.
	if config.Cluster.IsNull() && plan.Cluster.IsUnknown() && r.data != nil {
		cluster, err := r.data.Cluster(ctx)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("cluster"), "Cannot choose the tenant's cluster", err.Error())
			return
		}
		plan.Cluster = types.StringValue(cluster)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

// clusterChanged reports a planned cluster known to differ from the state's
// and not the same tenant under a new name (which is a replacement anyway).
func clusterChanged(state, plan tenantModel) bool {
	return plan.Name.Equal(state.Name) && !plan.Cluster.IsUnknown() && !state.Cluster.IsNull() &&
		!plan.Cluster.Equal(state.Cluster)
}

func (m *tenantModel) toAPI() adminapi.Tenant {
	return adminapi.Tenant{
		Name:        m.Name.ValueString(),
		DisplayName: m.DisplayName.ValueString(),
		Cluster:     m.Cluster.ValueString(),
		Status:      m.Status.ValueString(),
	}
}

func (m *tenantModel) fromAPI(t *adminapi.Tenant) {
	m.Name = types.StringValue(t.Name)
	m.DisplayName = effectiveDisplayName(t.DisplayName, t.Name)
	m.Cluster = types.StringValue(t.Cluster)
	m.Status = statusFrom(m.Status, t.Status)
	m.CreatedAt = instant(t.CreatedAt)
}

func (r *tenantResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan tenantModel
	resp.Diagnostics.Append(getModel(ctx, req.Plan.Schema, req.Plan.Raw, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	want := plan.toAPI()
	got, err := r.data.client.CreateTenant(ctx, want)
	if errors.Is(err, adminapi.ErrNameTaken) {
		got, err = r.adopt(ctx, want, resp)
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot create tenant %q", want.Name), err)
		return
	}
	if got == nil {
		return // adopt explained why not
	}
	plan.fromAPI(got)
	recordObject(ctx, &resp.State, resp.Private, resp.Identity, plan, plan.Name, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, replacingKey, nil)...)
}

// adopt handles a create whose name is taken: an inactive tenant is
// re-activated with the planned fields; an active one belongs to someone
// else, or to configuration that should import it.
func (r *tenantResource) adopt(ctx context.Context, want adminapi.Tenant, resp *resource.CreateResponse) (*adminapi.Tenant, error) {
	existing, err := r.data.client.GetTenant(ctx, want.Name)
	if err != nil {
		return nil, err
	}
	if existing.Status == adminapi.StatusActive {
		nameTakenError(&resp.Diagnostics, "tempo_tenant", "tenant", want.Name)
		return nil, nil
	}
	if existing.Cluster != want.Cluster {
		resp.Diagnostics.AddAttributeError(path.Root("cluster"), fmt.Sprintf("Tenant %q exists, inactive, in another cluster", want.Name),
			fmt.Sprintf("The inactive tenant %q belongs to cluster %q, and a tenant's cluster cannot change; tenant names are never freed. Set cluster = %q to re-activate it, or choose another name.",
				want.Name, existing.Cluster, existing.Cluster))
		return nil, nil
	}
	want.Version = existing.Version
	got, err := r.data.client.UpdateTenant(ctx, want)
	if err != nil {
		return nil, err
	}
	adoptedWarning(&resp.Diagnostics, "tenant", want.Name, existing.Status, want.Status)
	return got, nil
}

func (r *tenantResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state tenantModel
	resp.Diagnostics.Append(getModel(ctx, req.State.Schema, req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	got := readByName(ctx, resp, "tenant", state.Name, r.data.client.GetTenant)
	if got == nil {
		return
	}
	if !knownStatus(got.Status) {
		unknownStatusWarning(&resp.Diagnostics, "tenant", got.Name, got.Status)
	}
	state.fromAPI(got)
	recordObject(ctx, &resp.State, resp.Private, resp.Identity, state, state.Name, got.Version, &resp.Diagnostics)
}

func (r *tenantResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan tenantModel
	resp.Diagnostics.Append(getModel(ctx, req.Plan.Schema, req.Plan.Raw, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	want := plan.toAPI()
	want.Version = readVersion(ctx, req.Private)
	got, err := r.data.client.UpdateTenant(ctx, want)
	if err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot update tenant %q", want.Name), err)
		return
	}
	plan.fromAPI(got)
	recordObject(ctx, &resp.State, resp.Private, resp.Identity, plan, plan.Name, got.Version, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, replacingKey, nil)...)
}

func (r *tenantResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	deactivateByName(ctx, req, resp, "tenant", r.data.client.DeleteTenant)
}

func (r *tenantResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importName(ctx, req, resp, tenantName())
}

// replacingKey holds, in the planned private state of a tenant's update or
// replacement, the tenant's name: what the second planning call of a
// replacement compares the new name with.
const replacingKey = "replacing"
