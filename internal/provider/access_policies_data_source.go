package provider

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

var _ datasource.DataSourceWithConfigure = (*accessPoliciesDataSource)(nil)

// NewAccessPoliciesDataSource is the tempo_access_policies data source.
func NewAccessPoliciesDataSource() datasource.DataSource { return &accessPoliciesDataSource{} }

type accessPoliciesDataSource struct{ data *providerData }

type accessPoliciesDataModel struct {
	IncludeInactive types.Bool              `tfsdk:"include_inactive"`
	Names           []string                `tfsdk:"names"`
	AccessPolicies  []accessPolicyDataModel `tfsdk:"access_policies"`
}

func (d *accessPoliciesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_access_policies"
}

func (d *accessPoliciesDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The GET access policies the admin API knows, sorted by name: by default the active ones. " +
			"Each is described as the `tempo_access_policy` data source describes one, with its scopes and realms, " +
			"so that every policy on a server can be listed, reviewed or imported.",
		Attributes: map[string]schema.Attribute{
			"include_inactive": schema.BoolAttribute{
				MarkdownDescription: "Also list inactive (destroyed) access policies. Defaults to `false`.",
				Optional:            true,
			},
			"names": schema.ListAttribute{
				MarkdownDescription: "Names of the listed access policies, sorted.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"access_policies": schema.ListNestedAttribute{
				MarkdownDescription: "The listed access policies, sorted by name.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: listedAttributes(ctx, NewAccessPolicyDataSource(), "Name of the access policy."),
				},
			},
		},
	}
}

// listedAttributes are the attributes of one object of a list data source:
// those of the single-object data source of the same kind, so that both
// describe an object alike, with name computed instead of required.
func listedAttributes(ctx context.Context, single datasource.DataSource, nameDescription string) map[string]schema.Attribute {
	var resp datasource.SchemaResponse
	single.Schema(ctx, datasource.SchemaRequest{}, &resp)
	attrs := maps.Clone(resp.Schema.Attributes)
	attrs["name"] = schema.StringAttribute{MarkdownDescription: nameDescription, Computed: true}
	return attrs
}

func (d *accessPoliciesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *accessPoliciesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m accessPoliciesDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	list, err := d.data.client.ListAccessPolicies(ctx, m.IncludeInactive.ValueBool())
	if err != nil {
		addAPIError(&resp.Diagnostics, "Cannot list access policies", err)
		return
	}
	// The server's order carries no meaning; sorted, the list is stable.
	slices.SortFunc(list, func(a, b adminapi.AccessPolicy) int { return cmp.Compare(a.Name, b.Name) })
	m.Names = make([]string, 0, len(list))
	m.AccessPolicies = make([]accessPolicyDataModel, 0, len(list))
	for i := range list {
		var p accessPolicyDataModel
		p.fromAPI(ctx, &list[i], &resp.Diagnostics)
		m.Names = append(m.Names, list[i].Name)
		m.AccessPolicies = append(m.AccessPolicies, p)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
