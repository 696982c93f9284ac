package provider

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

var _ datasource.DataSourceWithConfigure = (*tenantsDataSource)(nil)

// NewTenantsDataSource is the tempo_tenants data source.
func NewTenantsDataSource() datasource.DataSource { return &tenantsDataSource{} }

type tenantsDataSource struct{ data *providerData }

type tenantsDataModel struct {
	IncludeInactive types.Bool        `tfsdk:"include_inactive"`
	Cluster         types.String      `tfsdk:"cluster"`
	Names           []string          `tfsdk:"names"`
	Tenants         []tenantDataModel `tfsdk:"tenants"`
}

func (d *tenantsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tenants"
}

func (d *tenantsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The GET tenants the admin API knows, sorted by name: by default the active ones of every cluster. " +
			"The list includes built-in tenants such as `__system__`.",
		Attributes: map[string]schema.Attribute{
			"include_inactive": schema.BoolAttribute{
				MarkdownDescription: "Also list inactive (destroyed) tenants. Defaults to `false`.",
				Optional:            true,
			},
			"cluster": schema.StringAttribute{
				MarkdownDescription: "List only the tenants of this cluster, which must exist. Without it, tenants of every cluster are listed.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"names": schema.ListAttribute{
				MarkdownDescription: "Names of the listed tenants, sorted.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"tenants": schema.ListNestedAttribute{
				MarkdownDescription: "The listed tenants, sorted by name.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: tenantDataAttributes(schema.StringAttribute{
						MarkdownDescription: "Tenant ID.",
						Computed:            true,
					}),
				},
			},
		},
	}
}

func (d *tenantsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *tenantsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m tenantsDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cluster := m.Cluster.ValueString()
	if cluster != "" {
		// A filter naming no cluster would match nothing; say so rather than
		// hand back an empty list that looks like a cluster without tenants.
		_, err := d.data.client.GetCluster(ctx, cluster)
		switch {
		case isNotFound(err):
			resp.Diagnostics.AddAttributeError(path.Root("cluster"), fmt.Sprintf("Cluster %q does not exist", cluster),
				fmt.Sprintf("The admin API at %s knows no cluster named %q, so no tenant can belong to it.", d.data.client.URL(), cluster))
			return
		case err != nil:
			addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot read cluster %q", cluster), err)
			return
		}
	}
	list, err := d.data.client.ListTenants(ctx, m.IncludeInactive.ValueBool())
	if err != nil {
		addAPIError(&resp.Diagnostics, "Cannot list tenants", err)
		return
	}
	// The server's order carries no meaning and may change between reads;
	// sorting keeps the result, and everything built from it, stable.
	slices.SortFunc(list, func(a, b adminapi.Tenant) int { return cmp.Compare(a.Name, b.Name) })
	m.Names = make([]string, 0, len(list))
	m.Tenants = make([]tenantDataModel, 0, len(list))
	for i := range list {
		if cluster != "" && list[i].Cluster != cluster {
			continue
		}
		var t tenantDataModel
		t.fromAPI(&list[i])
		m.Names = append(m.Names, list[i].Name)
		m.Tenants = append(m.Tenants, t)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
