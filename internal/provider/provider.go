// Package provider implements the tempo Terraform provider: configuration,
// resources and data sources. Resources only map between their Terraform
// models and internal/adminapi; no HTTP happens here.
package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/boolvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// Environment variables read when the matching argument is not set.
const (
	EnvURL       = "TEMPO_ADMIN_URL"
	EnvToken     = "TEMPO_ADMIN_TOKEN"
	EnvTokenFile = "TEMPO_ADMIN_TOKEN_FILE"
	EnvCluster   = "TEMPO_CLUSTER"
)

var (
	_ provider.Provider                       = (*tempoProvider)(nil)
	_ provider.ProviderWithEphemeralResources = (*tempoProvider)(nil)
)

type tempoProvider struct {
	version string
	now     func() time.Time
}

// New returns a constructor of the provider for Protocol6.
func New(version string) func() provider.Provider {
	return NewWithClock(version, time.Now)
}

// NewWithClock is New with the clock the provider judges expirations and
// rotation windows by, so that tests can move time.
func NewWithClock(version string, now func() time.Time) func() provider.Provider {
	return func() provider.Provider { return &tempoProvider{version: version, now: now} }
}

type providerModel struct {
	URL                types.String `tfsdk:"url"`
	Token              types.String `tfsdk:"token"`
	TokenFile          types.String `tfsdk:"token_file"`
	Cluster            types.String `tfsdk:"cluster"`
	CACertFile         types.String `tfsdk:"ca_cert_file"`
	CACertPEM          types.String `tfsdk:"ca_cert_pem"`
	ClientCertFile     types.String `tfsdk:"client_cert_file"`
	ClientKeyFile      types.String `tfsdk:"client_key_file"`
	InsecureSkipVerify types.Bool   `tfsdk:"insecure_skip_verify"`
	Timeout            types.String `tfsdk:"timeout"`
	MaxRetries         types.Int64  `tfsdk:"max_retries"`
	AllowedEndpoints   types.List   `tfsdk:"allowed_endpoints"`
	RotationHold       types.Set    `tfsdk:"rotation_hold"`
}

func (p *tempoProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "tempo"
	resp.Version = p.version
}

func (p *tempoProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages Grafana Enterprise Traces (GET) tenants, access policies and tokens through the GET admin API v3. " +
			"Run it where the admin API is reachable, typically a runner pod inside the cluster.",
		Attributes: map[string]schema.Attribute{
			"url": schema.StringAttribute{
				MarkdownDescription: "Base URL of the GET admin API, for example `http://tempo-admin-api.tempo.svc:3100`. " +
					"A trailing `/admin/api/v3` is accepted. Defaults to the `" + EnvURL + "` environment variable.",
				Optional:   true,
				Validators: []validator.String{httpURL()},
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "Admin token (a token whose access policy has `admin:read` for plans, `admin:write` for applies, or the bootstrap admin token). " +
					"Defaults to `" + EnvToken + "`. Conflicts with `token_file`.",
				Optional:  true,
				Sensitive: true,
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.ConflictsWith(path.MatchRoot("token_file")),
				},
			},
			"token_file": schema.StringAttribute{
				MarkdownDescription: "Path of a file holding the admin token, such as a mounted Kubernetes Secret. Surrounding white space is ignored. " +
					"Defaults to `" + EnvTokenFile + "`. Conflicts with `token`.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"cluster": schema.StringAttribute{
				MarkdownDescription: "Name of the GET cluster that tenants and realms default to. Defaults to `" + EnvCluster + "`, " +
					"and otherwise to the server's only cluster; a server with several clusters needs it set.",
				Optional:   true,
				Validators: []validator.String{clusterName()},
			},
			"ca_cert_file": schema.StringAttribute{
				MarkdownDescription: "Path of a PEM file with the CA certificate(s) that sign the admin API's certificate. When set, only these CAs are trusted. Conflicts with `ca_cert_pem`.",
				Optional:            true,
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.ConflictsWith(path.MatchRoot("ca_cert_pem")),
				},
			},
			"ca_cert_pem": schema.StringAttribute{
				MarkdownDescription: "PEM-encoded CA certificate(s) that sign the admin API's certificate. Conflicts with `ca_cert_file`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"client_cert_file": schema.StringAttribute{
				MarkdownDescription: "Path of a PEM client certificate for mutual TLS. Requires `client_key_file`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("client_key_file"))},
			},
			"client_key_file": schema.StringAttribute{
				MarkdownDescription: "Path of the PEM private key of `client_cert_file`. Requires `client_cert_file`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRoot("client_cert_file"))},
			},
			"insecure_skip_verify": schema.BoolAttribute{
				MarkdownDescription: "Skip verification of the admin API's TLS certificate. For tests only: anyone on the path could then read the admin token, and every run warns. " +
					"Conflicts with `ca_cert_file` and `ca_cert_pem`, which it would make meaningless. Defaults to `false`.",
				Optional: true,
				Validators: []validator.Bool{
					boolvalidator.ConflictsWith(path.MatchRoot("ca_cert_file"), path.MatchRoot("ca_cert_pem")),
				},
			},
			"timeout": schema.StringAttribute{
				MarkdownDescription: "Time limit of each HTTP request, as a Go duration such as `30s` or `2m`. Defaults to `30s`.",
				Optional:            true,
				Validators:          []validator.String{duration()},
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many times a request is retried after rate limiting (429), a fail-over (502, 503, 504) or a connection error, with capped, jittered back-off. `0` turns retries off. Defaults to `%d`.", adminapi.DefaultMaxRetries),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(0, 20)},
			},
			"allowed_endpoints": schema.ListAttribute{
				MarkdownDescription: "The network boundary: host suffixes (`.svc`, `tempo.example.internal`) and CIDRs (`10.0.0.0/8`) the admin token may be sent to. " +
					"A host is allowed when its name matches a suffix or, for CIDRs, when every address it is dialled at lies inside one. " +
					"Without this list, plain `http://` is still refused for hosts that are not loopback, private-range or cluster-local (`*.svc`, `*.cluster.local`); " +
					"link-local addresses and `fd00:ec2::254`, where cloud metadata services answer, count as public unless a CIDR names them. " +
					"A suffix may not end in a number (`.1`): name addresses with CIDRs (`10.0.0.1/32`).",
				Optional:    true,
				ElementType: types.StringType,
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.ValueStringsAre(endpointEntry()),
				},
			},
			"rotation_hold": schema.SetAttribute{
				MarkdownDescription: "Names of tokens whose rotation, though due (`ready_for_rotation`), this plan leaves for a later one, each with a warning. " +
					"A runner that bounds the rotations of one run sets it, holding the tokens that expire last. " +
					"A token found expired is replaced whatever this says, and changes that replace a token for another reason are not held.",
				Optional:    true,
				ElementType: types.StringType,
			},
		},
	}
}

// providerData is what resources and data sources receive: the client and
// the default cluster, discovered on first use when not configured.
type providerData struct {
	client *adminapi.Client
	now    func() time.Time
	// hold names the tokens whose due rotation waits for a later plan.
	hold map[string]bool

	clusterOnce sync.Once
	cluster     string
	clusterErr  error
}

// Cluster returns the configured cluster or, when none was configured, the
// server's only cluster. Discovery costs one request, made once per run and
// only when something needs it.
func (d *providerData) Cluster(ctx context.Context) (string, error) {
	d.clusterOnce.Do(func() {
		if d.cluster != "" {
			return
		}
		list, err := d.client.ListClusters(ctx)
		if err != nil {
			d.clusterErr = fmt.Errorf("discovering the cluster (set cluster in the provider to skip this): %w", err)
			return
		}
		switch len(list) {
		case 1:
			d.cluster = list[0].Name
		case 0:
			d.clusterErr = fmt.Errorf("the admin API at %s reports no cluster; set cluster in the provider or %s", d.client.URL(), EnvCluster)
		default:
			names := make([]string, len(list))
			for i, c := range list {
				names[i] = c.Name
			}
			d.clusterErr = fmt.Errorf("the admin API at %s has %d clusters (%s); set cluster in the provider or %s to choose one",
				d.client.URL(), len(list), strings.Join(names, ", "), EnvCluster)
		}
	})
	return d.cluster, d.clusterErr
}

func (p *tempoProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	for attr, v := range map[string]interface{ IsUnknown() bool }{
		"url": m.URL, "token": m.Token, "token_file": m.TokenFile, "cluster": m.Cluster,
		"ca_cert_file": m.CACertFile, "ca_cert_pem": m.CACertPEM, "client_cert_file": m.ClientCertFile,
		"client_key_file": m.ClientKeyFile, "insecure_skip_verify": m.InsecureSkipVerify,
		"timeout": m.Timeout, "max_retries": m.MaxRetries, "allowed_endpoints": m.AllowedEndpoints,
		"rotation_hold": m.RotationHold,
	} {
		if v.IsUnknown() {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Provider setting not known yet",
				"The provider needs "+attr+" while planning, but its value depends on a resource not yet applied. "+
					"Set it from a variable or the environment, or apply that resource first with -target.")
		}
	}
	if !m.AllowedEndpoints.IsUnknown() && !m.AllowedEndpoints.IsNull() {
		for i, e := range m.AllowedEndpoints.Elements() {
			if e.IsUnknown() {
				resp.Diagnostics.AddAttributeError(path.Root("allowed_endpoints").AtListIndex(i), "Provider setting not known yet",
					"The provider needs every entry of allowed_endpoints while planning, but this one depends on a resource not yet applied. "+
						"Set it from a variable or a literal: the network boundary must be known before anything is sent.")
			}
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}

	cfg := adminapi.Config{
		URL:                stringOr(m.URL, os.Getenv(EnvURL)),
		CACertFile:         m.CACertFile.ValueString(),
		CACertPEM:          m.CACertPEM.ValueString(),
		ClientCertFile:     m.ClientCertFile.ValueString(),
		ClientKeyFile:      m.ClientKeyFile.ValueString(),
		InsecureSkipVerify: m.InsecureSkipVerify.ValueBool(),
		UserAgent:          "terraform-provider-tempo/" + p.version,
		Now:                p.now,
	}
	// A debug record per request costs redacting its headers and bodies:
	// only worth it when the provider logger keeps debug records.
	if debugLogged() {
		cfg.Logger = func(ctx context.Context, msg string, fields map[string]any) {
			tflog.Debug(ctx, msg, fields)
		}
	}
	// An argument wins over the environment, and token over token_file, so
	// that a runner's environment cannot silently override the configuration.
	switch {
	case !m.Token.IsNull():
		cfg.Token = m.Token.ValueString()
	case !m.TokenFile.IsNull():
		cfg.TokenFile = m.TokenFile.ValueString()
	case os.Getenv(EnvToken) != "":
		cfg.Token = os.Getenv(EnvToken)
	default:
		cfg.TokenFile = os.Getenv(EnvTokenFile)
	}
	if !m.Timeout.IsNull() {
		cfg.Timeout, _ = time.ParseDuration(m.Timeout.ValueString()) // validated in the schema
	}
	if !m.MaxRetries.IsNull() {
		cfg.MaxRetries = int(m.MaxRetries.ValueInt64())
		if cfg.MaxRetries == 0 {
			cfg.MaxRetries = -1
		}
	}
	if !m.AllowedEndpoints.IsNull() {
		resp.Diagnostics.Append(m.AllowedEndpoints.ElementsAs(ctx, &cfg.AllowedEndpoints, false)...)
	}
	client, err := adminapi.New(cfg)
	if err != nil {
		resp.Diagnostics.AddError("Cannot configure the tempo provider", err.Error())
		return
	}
	// The guard decides now, at plan, on the addresses the host resolves
	// to: a plan that creates objects may send nothing, and a refusal first
	// seen at apply would come after the pull request was merged.
	// A host that does not resolve now is not a refusal: the same check
	// runs on every address dialled, and the requests say what is wrong.
	switch err := client.CheckEndpoint(ctx); {
	case errors.Is(err, adminapi.ErrEndpointRefused) && !m.URL.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root("url"), "The admin API endpoint is refused", err.Error())
		return
	case errors.Is(err, adminapi.ErrEndpointRefused):
		resp.Diagnostics.AddError("The admin API endpoint is refused", fmt.Sprintf("%s (url from %s)", err, EnvURL))
		return
	case err != nil:
		resp.Diagnostics.AddWarning("The admin API host could not be checked at plan", err.Error()+
			". The network-boundary guard checks every address again when connecting.")
	}
	if cfg.InsecureSkipVerify {
		resp.Diagnostics.AddAttributeWarning(path.Root("insecure_skip_verify"), "TLS certificate verification is off",
			"insecure_skip_verify = true: the admin API's certificate is not checked, so anyone on the network path can read the admin token. "+
				"Give the CA in ca_cert_file or ca_cert_pem instead.")
	}
	data := &providerData{client: client, now: p.now, cluster: stringOr(m.Cluster, os.Getenv(EnvCluster))}
	if !m.RotationHold.IsNull() {
		var names []string
		resp.Diagnostics.Append(m.RotationHold.ElementsAs(ctx, &names, false)...)
		data.hold = make(map[string]bool, len(names))
		for _, n := range names {
			data.hold[n] = true
		}
	}
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
}

func (p *tempoProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewTenantResource, NewAccessPolicyResource, NewTokenResource}
}

func (p *tempoProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewClusterDataSource, NewTenantDataSource, NewTenantsDataSource, NewAccessPolicyDataSource, NewAccessPoliciesDataSource, NewTokenDataSource, NewTokensDataSource}
}

func (p *tempoProvider) EphemeralResources(context.Context) []func() ephemeral.EphemeralResource {
	return nil
}

func stringOr(v types.String, fallback string) string {
	if v.IsNull() || v.ValueString() == "" {
		return fallback
	}
	return v.ValueString()
}
