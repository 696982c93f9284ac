package provider_test

import (
	"context"
	"runtime"
	"testing"
	"weak"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/provider"
)

// The provider server serves every call of a CLI run, several per object
// and phase, in one process: what it keeps of a call once the call has
// returned grows with the objects, and a runner pod with a memory limit
// is killed mid-apply. The context of a call that returned, with what
// hangs from it (the framework's per-call loggers, some 17 KB), must be
// free for the collector, as gRPC leaves it: cancelled.
func TestServerKeepsNoContextOfACallThatReturned(t *testing.T) {
	srv := provider.Protocol6(provider.New("test"))()
	calls := map[string]func(context.Context){
		"ValidateResourceConfig": func(ctx context.Context) {
			_, _ = srv.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "tempo_tenant"})
		},
		"UpgradeResourceState": func(ctx context.Context) {
			_, _ = srv.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{TypeName: "tempo_tenant"})
		},
		"ReadResource": func(ctx context.Context) {
			_, _ = srv.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "tempo_tenant"})
		},
		"PlanResourceChange": func(ctx context.Context) {
			_, _ = srv.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{TypeName: "tempo_tenant"})
		},
		"ApplyResourceChange": func(ctx context.Context) {
			_, _ = srv.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{TypeName: "tempo_tenant"})
		},
		"ImportResourceState": func(ctx context.Context) {
			_, _ = srv.ImportResourceState(ctx, &tfprotov6.ImportResourceStateRequest{TypeName: "tempo_tenant", ID: "team-a"})
		},
		"MoveResourceState": func(ctx context.Context) {
			_, _ = srv.MoveResourceState(ctx, &tfprotov6.MoveResourceStateRequest{TargetTypeName: "tempo_tenant"})
		},
		"UpgradeResourceIdentity": func(ctx context.Context) {
			_, _ = srv.UpgradeResourceIdentity(ctx, &tfprotov6.UpgradeResourceIdentityRequest{TypeName: "tempo_tenant"})
		},
		"ValidateDataResourceConfig": func(ctx context.Context) {
			_, _ = srv.ValidateDataResourceConfig(ctx, &tfprotov6.ValidateDataResourceConfigRequest{TypeName: "tempo_tenant"})
		},
		"ReadDataSource": func(ctx context.Context) {
			_, _ = srv.ReadDataSource(ctx, &tfprotov6.ReadDataSourceRequest{TypeName: "tempo_tenant"})
		},
		"GenerateResourceConfig": func(ctx context.Context) {
			_, _ = srv.GenerateResourceConfig(ctx, &tfprotov6.GenerateResourceConfigRequest{TypeName: "tempo_tenant"})
		},
		"ValidateEphemeralResourceConfig": func(ctx context.Context) {
			_, _ = srv.ValidateEphemeralResourceConfig(ctx, &tfprotov6.ValidateEphemeralResourceConfigRequest{TypeName: "tempo_token"})
		},
		"OpenEphemeralResource": func(ctx context.Context) {
			_, _ = srv.OpenEphemeralResource(ctx, &tfprotov6.OpenEphemeralResourceRequest{TypeName: "tempo_token"})
		},
		"RenewEphemeralResource": func(ctx context.Context) {
			_, _ = srv.RenewEphemeralResource(ctx, &tfprotov6.RenewEphemeralResourceRequest{TypeName: "tempo_token"})
		},
		"CloseEphemeralResource": func(ctx context.Context) {
			_, _ = srv.CloseEphemeralResource(ctx, &tfprotov6.CloseEphemeralResourceRequest{TypeName: "tempo_token"})
		},
		"CallFunction": func(ctx context.Context) {
			_, _ = srv.CallFunction(ctx, &tfprotov6.CallFunctionRequest{Name: "none"})
		},
	}
	for name, call := range calls {
		held := callOnce(call)
		runtime.GC()
		runtime.GC()
		if held.Value() != nil {
			t.Errorf("%s: the server still holds the context of a call that returned", name)
		}
	}
	// The CLI's stop (an interrupt) cancels what the framework registered,
	// the contexts of calls that returned among them.
	if _, err := srv.StopProvider(context.Background(), &tfprotov6.StopProviderRequest{}); err != nil {
		t.Errorf("StopProvider: %v", err)
	}
}

// The server offers the framework's services but its optional ones: a
// list resource, action or state store added to the provider must be
// offered through it too, its calls scoped like the others.
func TestServerOffersAllTheProviderHas(t *testing.T) {
	srv := provider.Protocol6(provider.New("test"))()
	md, err := srv.GetMetadata(context.Background(), &tfprotov6.GetMetadataRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.ListResources) > 0 || len(md.Actions) > 0 || len(md.StateStores) > 0 {
		t.Errorf("the provider has list resources %v, actions %v, state stores %v, which its server does not offer",
			md.ListResources, md.Actions, md.StateStores)
	}
	if len(md.Resources) == 0 {
		t.Error("the provider's metadata lists no resource")
	}
}

// callOnce makes one call under a context carrying a value of its own, the
// way gRPC does (the context is cancelled when the call returns), and
// returns a weak pointer to that value.
func callOnce(call func(context.Context)) weak.Pointer[[4096]byte] {
	type key struct{}
	value := new([4096]byte)
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, value))
	call(ctx)
	cancel()
	return weak.Make(value)
}
