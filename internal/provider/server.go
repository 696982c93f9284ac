package provider

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// Protocol6 returns the constructor of the provider's protocol 6 server:
// the plugin framework's, with the contexts of calls that returned let go.
//
// The framework registers the context of every call it serves, to cancel
// them all if the CLI stops the provider, and keeps them until the process
// exits. Each holds the call's context chain: the per-call loggers
// terraform-plugin-go sets up, some 17 KB. A provider process serves a
// call or more per object and phase, so its live heap grew by that much per
// call, with thousands of objects the larger part of its memory.
//
// The server hands the framework, for the calls made once per object, a
// context that stands for the call's own until the call returns and, after,
// for a cancelled context without values: what the framework keeps is then
// a few hundred bytes a call. (The calls made once per process keep theirs.)
// Cancellation is unchanged: the framework's context is a child of the
// call's, cancelled with it (gRPC cancels it when the call returns) and by
// StopProvider.
//
// The framework server's optional services (list resources, actions, state
// stores) are not offered through it; the provider has none
// (TestServerOffersAllTheProviderHas).
func Protocol6(newProvider func() provider.Provider) func() tfprotov6.ProviderServer {
	return func() tfprotov6.ProviderServer {
		return &server{ProviderServer: providerserver.NewProtocol6(newProvider())()}
	}
}

type server struct {
	tfprotov6.ProviderServer
}

// scoped calls f with a context that stands for ctx until f returns.
func scoped[Req, Resp any](ctx context.Context, req Req, f func(context.Context, Req) (Resp, error)) (Resp, error) {
	c := &callContext{}
	c.ctx.Store(&ctx)
	defer c.ctx.Store(&returned)
	return f(c, req)
}

// returned is what a callContext stands for once its call has returned:
// done, as the call is, and without the call's values.
var returned = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// callContext is a context.Context that passes everything to the context
// it holds, which it can change. While it holds a call's context, contexts
// made from it see the call's values, deadline and cancellation; through
// the cancellation tree, a child registers with the call's nearest
// cancellable context itself, as context.WithCancel does for any context
// that reports that one's Done channel and value.
type callContext struct {
	ctx atomic.Pointer[context.Context]
}

func (c *callContext) Deadline() (time.Time, bool) { return (*c.ctx.Load()).Deadline() }
func (c *callContext) Done() <-chan struct{}       { return (*c.ctx.Load()).Done() }
func (c *callContext) Err() error                  { return (*c.ctx.Load()).Err() }
func (c *callContext) Value(key any) any           { return (*c.ctx.Load()).Value(key) }
func (c *callContext) String() string              { return "provider call context" }

func (s *server) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return scoped(ctx, req, s.ProviderServer.ValidateResourceConfig)
}

func (s *server) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return scoped(ctx, req, s.ProviderServer.UpgradeResourceState)
}

func (s *server) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return scoped(ctx, req, s.ProviderServer.ReadResource)
}

func (s *server) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return scoped(ctx, req, s.ProviderServer.PlanResourceChange)
}

func (s *server) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return scoped(ctx, req, s.ProviderServer.ApplyResourceChange)
}

func (s *server) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return scoped(ctx, req, s.ProviderServer.ImportResourceState)
}

func (s *server) MoveResourceState(ctx context.Context, req *tfprotov6.MoveResourceStateRequest) (*tfprotov6.MoveResourceStateResponse, error) {
	return scoped(ctx, req, s.ProviderServer.MoveResourceState)
}

func (s *server) UpgradeResourceIdentity(ctx context.Context, req *tfprotov6.UpgradeResourceIdentityRequest) (*tfprotov6.UpgradeResourceIdentityResponse, error) {
	return scoped(ctx, req, s.ProviderServer.UpgradeResourceIdentity)
}

func (s *server) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return scoped(ctx, req, s.ProviderServer.ValidateDataResourceConfig)
}

func (s *server) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return scoped(ctx, req, s.ProviderServer.ReadDataSource)
}

func (s *server) GenerateResourceConfig(ctx context.Context, req *tfprotov6.GenerateResourceConfigRequest) (*tfprotov6.GenerateResourceConfigResponse, error) {
	return scoped(ctx, req, s.ProviderServer.GenerateResourceConfig)
}

func (s *server) ValidateEphemeralResourceConfig(ctx context.Context, req *tfprotov6.ValidateEphemeralResourceConfigRequest) (*tfprotov6.ValidateEphemeralResourceConfigResponse, error) {
	return scoped(ctx, req, s.ProviderServer.ValidateEphemeralResourceConfig)
}

func (s *server) OpenEphemeralResource(ctx context.Context, req *tfprotov6.OpenEphemeralResourceRequest) (*tfprotov6.OpenEphemeralResourceResponse, error) {
	return scoped(ctx, req, s.ProviderServer.OpenEphemeralResource)
}

func (s *server) RenewEphemeralResource(ctx context.Context, req *tfprotov6.RenewEphemeralResourceRequest) (*tfprotov6.RenewEphemeralResourceResponse, error) {
	return scoped(ctx, req, s.ProviderServer.RenewEphemeralResource)
}

func (s *server) CloseEphemeralResource(ctx context.Context, req *tfprotov6.CloseEphemeralResourceRequest) (*tfprotov6.CloseEphemeralResourceResponse, error) {
	return scoped(ctx, req, s.ProviderServer.CloseEphemeralResource)
}

func (s *server) CallFunction(ctx context.Context, req *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	return scoped(ctx, req, s.ProviderServer.CallFunction)
}
