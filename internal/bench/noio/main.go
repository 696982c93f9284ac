// Command noio is the floor that `make bench-scale` measures the provider
// against: a provider served by the same terraform-plugin-framework, with
// the very schemas of tempo_tenant, tempo_access_policy and tempo_token
// (taken from internal/provider, validators and plan modifiers included),
// whose create, read, update and delete do no I/O at all. Create and update
// fill the plan's unknown values with values of the size the server would
// give; read returns the state as it is. With TEMPO_NOIO_PRIVATE=1, create
// and update also keep an object version in private state, as the real
// resources keep the ETag they send in If-Match. With TEMPO_NOIO_SCOPED=1
// it is served through the provider's own server (provider.Protocol6),
// which lets go of what the framework keeps of every call, so that the
// provider can be compared with the floor that server sets too.
//
// Served under the provider's own address, so that one configuration runs
// against either through a development override. A test fixture only: it
// is never released.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/provider"
)

func main() {
	// The same logging as the provider's, so that the floor is the floor.
	provider.QuietLogsUnlessRead()
	newProvider := func() fwprovider.Provider { return &noioProvider{real: provider.New("noio")()} }
	var err error
	if os.Getenv("TEMPO_NOIO_SCOPED") == "1" {
		err = tf6server.Serve(address, provider.Protocol6(newProvider))
	} else {
		err = providerserver.Serve(context.Background(), newProvider, providerserver.ServeOpts{Address: address})
	}
	if err != nil {
		log.Fatal(err)
	}
}

const address = "registry.terraform.io/tempo-tenancy/tempo"

// noioProvider has the real provider's name and schema, and configures
// nothing.
type noioProvider struct{ real fwprovider.Provider }

func (p *noioProvider) Metadata(ctx context.Context, req fwprovider.MetadataRequest, resp *fwprovider.MetadataResponse) {
	p.real.Metadata(ctx, req, resp)
}

func (p *noioProvider) Schema(ctx context.Context, req fwprovider.SchemaRequest, resp *fwprovider.SchemaResponse) {
	p.real.Schema(ctx, req, resp)
}

func (p *noioProvider) Configure(context.Context, fwprovider.ConfigureRequest, *fwprovider.ConfigureResponse) {
}

func (p *noioProvider) Resources(ctx context.Context) []func() resource.Resource {
	var out []func() resource.Resource
	for _, f := range p.real.Resources(ctx) {
		out = append(out, func() resource.Resource { return &noioResource{real: f()} })
	}
	return out
}

func (p *noioProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

// noioResource borrows metadata, schema and identity schema from a real
// resource and nothing else.
type noioResource struct{ real resource.Resource }

var _ resource.ResourceWithIdentity = (*noioResource)(nil)

func (r *noioResource) Metadata(ctx context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	r.real.Metadata(ctx, req, resp)
}

func (r *noioResource) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
	r.real.Schema(ctx, req, resp)
}

func (r *noioResource) IdentitySchema(ctx context.Context, req resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	r.real.(resource.ResourceWithIdentity).IdentitySchema(ctx, req, resp)
}

func (r *noioResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	v, err := known(req.Plan.Raw)
	if err != nil {
		resp.Diagnostics.AddError("noio", err.Error())
		return
	}
	resp.State.Raw = v
	setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	if withPrivate {
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, versionKey, []byte("1"))...)
	}
}

func (r *noioResource) Read(ctx context.Context, _ resource.ReadRequest, resp *resource.ReadResponse) {
	setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
}

func (r *noioResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	v, err := known(req.Plan.Raw)
	if err != nil {
		resp.Diagnostics.AddError("noio", err.Error())
		return
	}
	resp.State.Raw = v
	setIdentity(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	if withPrivate {
		old, diags := req.Private.GetKey(ctx, versionKey)
		resp.Diagnostics.Append(diags...)
		n, _ := strconv.Atoi(string(old))
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, versionKey, []byte(strconv.Itoa(n+1)))...)
	}
}

func (r *noioResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

// setIdentity records the name as the identity, as the real resources do.
func setIdentity(ctx context.Context, state *tfsdk.State, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	if identity == nil || state.Raw.IsNull() {
		return
	}
	var name types.String
	diags.Append(state.GetAttribute(ctx, path.Root("name"), &name)...)
	diags.Append(identity.SetAttribute(ctx, path.Root("name"), name)...)
}

// withPrivate keeps an object version in private state, under the key and
// in the form the real resources use.
var withPrivate = os.Getenv("TEMPO_NOIO_PRIVATE") == "1"

const versionKey = "version"

// serial makes generated names unique within a provider process.
var serial atomic.Int64

// known replaces every unknown value of a planned object with a value of
// the kind and size the admin API answers with, by attribute name.
func known(plan tftypes.Value) (tftypes.Value, error) {
	// The name first: an unknown display name takes it, and Transform
	// visits attributes in no particular order.
	name := fmt.Sprintf("noio-%012d", serial.Add(1))
	var attrs map[string]tftypes.Value
	if plan.As(&attrs) == nil {
		if n := attrs["name"]; n.IsKnown() && !n.IsNull() {
			_ = n.As(&name)
		}
	}
	return tftypes.Transform(plan, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		steps := p.Steps()
		attr := ""
		if len(steps) > 0 {
			if a, ok := steps[len(steps)-1].(tftypes.AttributeName); ok {
				attr = string(a)
			}
		}
		typ := v.Type()
		switch {
		case typ.Is(tftypes.Bool):
			return tftypes.NewValue(tftypes.Bool, false), nil
		case !typ.Is(tftypes.String):
			return tftypes.NewValue(typ, nil), nil
		}
		var s any
		switch attr {
		case "name", "display_name":
			s = name
		case "cluster":
			s = "tempo"
		case "status":
			s = "active"
		case "created_at":
			s = time.Now().UTC().Format(time.RFC3339)
		case "token":
			// The emulator's secrets: base64 of the name and 64 hex digits.
			s = fmt.Sprintf("%0120d", serial.Add(1))
		}
		return tftypes.NewValue(tftypes.String, s), nil
	})
}
