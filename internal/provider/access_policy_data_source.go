package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

var _ datasource.DataSourceWithConfigure = (*accessPolicyDataSource)(nil)

// NewAccessPolicyDataSource is the tempo_access_policy data source.
func NewAccessPolicyDataSource() datasource.DataSource { return &accessPolicyDataSource{} }

type accessPolicyDataSource struct{ data *providerData }

// The resource takes realms as blocks named realm and label_policy, the way
// they are written; a data source only reports them, so they are computed
// attributes with plural names, read as realms[*].label_policies.
type accessPolicyDataModel struct {
	Name        types.String `tfsdk:"name"`
	DisplayName types.String `tfsdk:"display_name"`
	Scopes      types.Set    `tfsdk:"scopes"`
	Realms      types.Set    `tfsdk:"realms"`
	Status      types.String `tfsdk:"status"`
	CreatedAt   types.String `tfsdk:"created_at"`
}

func (d *accessPolicyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_access_policy"
}

func (d *accessPolicyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An existing GET access policy, active or not, read from the admin API: the scopes it grants and the realms it grants them on. " +
			"Reading a policy that does not exist is an error.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the access policy.",
				Required:            true,
				Validators:          []validator.String{objectName("access policy")},
			},
			"display_name": schema.StringAttribute{
				MarkdownDescription: "Human-readable name; the policy's name when it has none (servers differ in whether they store that default).",
				Computed:            true,
			},
			"scopes": schema.SetAttribute{
				MarkdownDescription: "What the policy allows, each as `<resource>:<action>`, such as `traces:read`.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"realms": schema.SetNestedAttribute{
				MarkdownDescription: "The tenants of clusters the scopes apply to.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"tenant": schema.StringAttribute{
							MarkdownDescription: "Tenant name, or `*` for every tenant of the cluster.",
							Computed:            true,
						},
						"cluster": schema.StringAttribute{
							MarkdownDescription: "Cluster of the tenant.",
							Computed:            true,
						},
						"label_policies": schema.SetNestedAttribute{
							MarkdownDescription: "Label selectors the realm is restricted to; empty when it is not restricted.",
							Computed:            true,
							NestedObject: schema.NestedAttributeObject{
								Attributes: map[string]schema.Attribute{
									"selector": schema.StringAttribute{
										MarkdownDescription: "Label selector in braces, such as `{env=\"prod\"}`.",
										Computed:            true,
									},
								},
							},
						},
					},
				},
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "`active`, or `inactive` for a policy that was destroyed; the tokens of an inactive policy do not work.",
				Computed:            true,
			},
			"created_at": schema.StringAttribute{
				MarkdownDescription: "When the policy was created (RFC 3339), as the server reports it.",
				Computed:            true,
			},
		},
	}
}

func (d *accessPolicyDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (m *accessPolicyDataModel) fromAPI(ctx context.Context, p *adminapi.AccessPolicy, diags *diag.Diagnostics) {
	m.Name = types.StringValue(p.Name)
	m.DisplayName = effectiveDisplayName(p.DisplayName, p.Name)
	m.Status = types.StringValue(p.Status)
	m.CreatedAt = instant(p.CreatedAt)
	scopes, d := types.SetValueFrom(ctx, types.StringType, p.Scopes)
	diags.Append(d...)
	m.Scopes = scopes
	m.Realms = realmsValue(p.Realms, "label_policies", diags)
}

func (d *accessPolicyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m accessPolicyDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := m.Name.ValueString()
	got, err := d.data.client.GetAccessPolicy(ctx, name)
	if isNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("name"), fmt.Sprintf("Access policy %q does not exist", name),
			fmt.Sprintf("The admin API has no access policy named %q, active or inactive. Check the name; to create the policy, use the tempo_access_policy resource.", name))
		return
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot read access policy %q", name), err)
		return
	}
	m.fromAPI(ctx, got, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
