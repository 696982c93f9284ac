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

var _ datasource.DataSourceWithConfigure = (*tokenDataSource)(nil)

// NewTokenDataSource is the tempo_token data source.
func NewTokenDataSource() datasource.DataSource { return &tokenDataSource{} }

type tokenDataSource struct{ data *providerData }

// tokenDataModel has no secret: the admin API shows it once, in the create
// response, and a data source only ever reads.
type tokenDataModel struct {
	Name         types.String `tfsdk:"name"`
	DisplayName  types.String `tfsdk:"display_name"`
	AccessPolicy types.String `tfsdk:"access_policy"`
	Expiration   types.String `tfsdk:"expiration"`
	Status       types.String `tfsdk:"status"`
	CreatedAt    types.String `tfsdk:"created_at"`
}

func (d *tokenDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_token"
}

func (d *tokenDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The metadata of an existing GET access token, active or revoked: its policy, expiration and status. " +
			"The secret is not available: the admin API shows it only once, in the response that creates the token, " +
			"so only the `tempo_token` resource that created a token has it. Reading a token that does not exist is an error.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the token.",
				Required:            true,
				Validators:          []validator.String{objectName("token")},
			},
			"display_name": schema.StringAttribute{
				MarkdownDescription: "Human-readable name; the token's name when it has none (servers differ in whether they store that default).",
				Computed:            true,
			},
			"access_policy": schema.StringAttribute{
				MarkdownDescription: "Name of the access policy whose rights the token carries.",
				Computed:            true,
			},
			"expiration": schema.StringAttribute{
				MarkdownDescription: "When the token stops working (RFC 3339); null when it never expires.",
				Computed:            true,
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "`active`, or `inactive` once the token is revoked. An expired token keeps `active`: compare `expiration` with the current time.",
				Computed:            true,
			},
			"created_at": schema.StringAttribute{
				MarkdownDescription: "When the token was created (RFC 3339), as the server reports it.",
				Computed:            true,
			},
		},
	}
}

func (d *tokenDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (m *tokenDataModel) fromAPI(t *adminapi.Token) {
	m.Name = types.StringValue(t.Name)
	m.DisplayName = effectiveDisplayName(t.DisplayName, t.Name)
	m.AccessPolicy = types.StringValue(t.AccessPolicy)
	m.Expiration = instant(t.Expiration)
	m.Status = types.StringValue(t.Status)
	m.CreatedAt = instant(t.CreatedAt)
}

func (d *tokenDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m tokenDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := m.Name.ValueString()
	got, err := d.data.client.GetToken(ctx, name)
	if isNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("name"), fmt.Sprintf("Token %q does not exist", name),
			fmt.Sprintf("The admin API has no token named %q, active or revoked. Check the name; to create a token, use the tempo_token resource.", name))
		return
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, fmt.Sprintf("Cannot read token %q", name), err)
		return
	}
	m.fromAPI(got)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
