package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

var _ datasource.DataSourceWithConfigure = (*clusterDataSource)(nil)

// NewClusterDataSource is the tempo_cluster data source.
func NewClusterDataSource() datasource.DataSource { return &clusterDataSource{} }

type clusterDataSource struct{ data *providerData }

type clusterDataModel struct {
	Name        types.String `tfsdk:"name"`
	DisplayName types.String `tfsdk:"display_name"`
	CreatedAt   types.String `tfsdk:"created_at"`
	Kind        types.String `tfsdk:"kind"`
}

func (d *clusterDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (d *clusterDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A GET cluster, read from the admin API. Without `name` it is the provider's cluster: " +
			"the provider's `cluster` setting, or the server's only cluster when that is not set. " +
			"Useful to check which cluster a configuration targets, or to pass the cluster name on explicitly.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				MarkdownDescription: "Cluster name. Defaults to the provider's `cluster`, and otherwise to the server's only cluster; " +
					"a server with several clusters needs one of them set.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{clusterName()},
			},
			"display_name": schema.StringAttribute{
				MarkdownDescription: "Human-readable name, as the server reports it.",
				Computed:            true,
			},
			"created_at": schema.StringAttribute{
				MarkdownDescription: "When the cluster was created (RFC 3339), as the server reports it.",
				Computed:            true,
			},
			"kind": schema.StringAttribute{
				MarkdownDescription: "What the cluster serves, such as `traces` for GET.",
				Computed:            true,
			},
		},
	}
}

func (d *clusterDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (m *clusterDataModel) fromAPI(c *adminapi.Cluster) {
	m.Name = types.StringValue(c.Name)
	m.DisplayName = nullIfEmpty(c.DisplayName)
	m.CreatedAt = instant(c.CreatedAt)
	m.Kind = nullIfEmpty(c.Kind)
}

func (d *clusterDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m clusterDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := m.Name.ValueString()
	if m.Name.IsNull() {
		// The same choice resources make, so that this data source shows
		// the cluster a tenant without cluster would land in.
		cluster, err := d.data.Cluster(ctx)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Cannot choose the cluster",
				err.Error()+", or set name in this data source.")
			return
		}
		name = cluster
	}
	got, err := d.data.client.GetCluster(ctx, name)
	if isNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("name"), fmt.Sprintf("Cluster %q does not exist", name),
			fmt.Sprintf("The admin API at %s knows no cluster named %q. Check the name, or the provider's cluster setting.", d.data.client.URL(), name))
		return
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot read cluster %q", name), err)
		return
	}
	m.fromAPI(got)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
