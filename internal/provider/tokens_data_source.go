package provider

import (
	"cmp"
	"context"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

var _ datasource.DataSourceWithConfigure = (*tokensDataSource)(nil)

// NewTokensDataSource is the tempo_tokens data source.
func NewTokensDataSource() datasource.DataSource { return &tokensDataSource{} }

type tokensDataSource struct{ data *providerData }

// tokensDataModel, like tokenDataModel, has no secret: a list never shows
// one, and no read could.
type tokensDataModel struct {
	IncludeInactive types.Bool       `tfsdk:"include_inactive"`
	Names           []string         `tfsdk:"names"`
	Tokens          []tokenDataModel `tfsdk:"tokens"`
}

func (d *tokensDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tokens"
}

func (d *tokensDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The GET access tokens the admin API knows, sorted by name: by default those not revoked. " +
			"Each is described as the `tempo_token` data source describes one: its policy, expiration and status. " +
			"Secrets are not available: the admin API shows a token's secret only once, in the response that creates it. " +
			"An expired token is listed with status `active`; compare `expiration` with the current time.",
		Attributes: map[string]schema.Attribute{
			"include_inactive": schema.BoolAttribute{
				MarkdownDescription: "Also list revoked (inactive) tokens. Defaults to `false`.",
				Optional:            true,
			},
			"names": schema.ListAttribute{
				MarkdownDescription: "Names of the listed tokens, sorted.",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"tokens": schema.ListNestedAttribute{
				MarkdownDescription: "The listed tokens, sorted by name.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: listedAttributes(ctx, NewTokenDataSource(), "Name of the token."),
				},
			},
		},
	}
}

func (d *tokensDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = dataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *tokensDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m tokensDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	list, err := d.data.client.ListTokens(ctx, m.IncludeInactive.ValueBool())
	if err != nil {
		addAPIError(&resp.Diagnostics, "Cannot list tokens", err)
		return
	}
	slices.SortFunc(list, func(a, b adminapi.Token) int { return cmp.Compare(a.Name, b.Name) })
	m.Names = make([]string, 0, len(list))
	m.Tokens = make([]tokenDataModel, 0, len(list))
	for i := range list {
		var t tokenDataModel
		t.fromAPI(&list[i])
		m.Names = append(m.Names, list[i].Name)
		m.Tokens = append(m.Tokens, t)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
