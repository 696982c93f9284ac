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

var _ datasource.DataSourceWithConfigure = (*tenantDataSource)(nil)

// NewTenantDataSource is the tempo_tenant data source.
func NewTenantDataSource() datasource.DataSource { return &tenantDataSource{} }

type tenantDataSource struct{ data *providerData }

// tenantDataModel is one tenant as data sources show it: the tempo_tenant
// data source, and each element of tempo_tenants' tenants.
type tenantDataModel struct {
	Name        types.String `tfsdk:"name"`
	DisplayName types.String `tfsdk:"display_name"`
	Cluster     types.String `tfsdk:"cluster"`
	Status      types.String `tfsdk:"status"`
	CreatedAt   types.String `tfsdk:"created_at"`
}

func (m *tenantDataModel) fromAPI(t *adminapi.Tenant) {
	m.Name = types.StringValue(t.Name)
	m.DisplayName = effectiveDisplayName(t.DisplayName, t.Name)
	m.Cluster = types.StringValue(t.Cluster)
	m.Status = types.StringValue(t.Status)
	m.CreatedAt = instant(t.CreatedAt)
}

func (d *tenantDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tenant"
}

func (d *tenantDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An existing GET tenant, active or not, read from the admin API. " +
			"Reading a tenant that does not exist is an error, so a typo never yields an empty result.",
		Attributes: tenantDataAttributes(schema.StringAttribute{
			MarkdownDescription: "Tenant ID: 3 to 64 characters of lower-case letters, digits, `_` and `-`. " +
				"Built-in tenants such as `__system__` can be read too.",
			Required:   true,
			Validators: []validator.String{tenantNameToRead()},
		}),
	}
}

// tenantDataAttributes are the attributes of tenantDataModel, with name as
// given: an argument of tempo_tenant, a result in tempo_tenants.
func tenantDataAttributes(name schema.StringAttribute) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"name": name,
		"display_name": schema.StringAttribute{
			MarkdownDescription: "Human-readable name.",
			Computed:            true,
		},
		"cluster": schema.StringAttribute{
			MarkdownDescription: "GET cluster the tenant belongs to.",
			Computed:            true,
		},
		"status": schema.StringAttribute{
			MarkdownDescription: "`active`, or `inactive` for a tenant that was destroyed (the admin API never frees a tenant name).",
			Computed:            true,
		},
		"created_at": schema.StringAttribute{
			MarkdownDescription: "When the tenant was created (RFC 3339), as the server reports it.",
			Computed:            true,
		},
	}
}

// tenantNameToRead is tenantName without the reservation of names starting
// with __: GET refuses to create such tenants, but its built-in ones exist
// and are worth reading.
func tenantNameToRead() validator.String {
	return stringCheck{desc: "3 to 64 characters of a-z, 0-9, _ and -", check: func(s string) string {
		if !tenantNameRE.MatchString(s) {
			return fmt.Sprintf("%q must be 3 to 64 characters of lower-case letters, digits, _ and -", s)
		}
		return ""
	}}
}

func (d *tenantDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *tenantDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m tenantDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := m.Name.ValueString()
	got, err := d.data.client.GetTenant(ctx, name)
	if isNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("name"), fmt.Sprintf("Tenant %q does not exist", name),
			fmt.Sprintf("The admin API has no tenant named %q, active or inactive. Check the name; to create the tenant, use the tempo_tenant resource.", name))
		return
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot read tenant %q", name), err)
		return
	}
	m.fromAPI(got)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
