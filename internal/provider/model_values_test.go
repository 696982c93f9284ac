package provider

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The models' own conversion must give the very value the framework's
// reflection gives. A defined type over a model has the same fields and
// tags but not its methods, so the framework reflects on it.
func TestModelValuesMatchReflection(t *testing.T) {
	ctx := context.Background()
	schemaOf := func(r resource.Resource) tfsdk.State {
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		return tfsdk.State{Schema: resp.Schema}
	}
	lp, _ := types.ObjectValue(labelPolicyType.AttrTypes, map[string]attr.Value{"selector": types.StringValue(`{env="prod"}`)})
	lps, _ := types.SetValue(labelPolicyType, []attr.Value{lp})
	realm, _ := types.ObjectValue(realmType.AttrTypes, map[string]attr.Value{
		"tenant": types.StringValue("team-a"), "cluster": types.StringUnknown(), "label_policy": lps,
	})
	realms, _ := types.SetValue(realmType, []attr.Value{realm})
	scopes, _ := types.SetValue(types.StringType, []attr.Value{types.StringValue("traces:read")})

	keepers, _ := types.MapValue(types.StringType, map[string]attr.Value{"rotation": types.StringValue("2")})

	type plainTenant tenantModel
	type plainPolicy accessPolicyModel
	type plainToken tokenModel
	for _, tc := range []struct {
		name        string
		state       tfsdk.State
		model, bare any
	}{
		{"tenant", schemaOf(NewTenantResource()),
			tenantModel{Name: types.StringValue("team-a"), DisplayName: types.StringNull(), Cluster: types.StringUnknown(), Status: types.StringValue("active"), CreatedAt: types.StringValue("2026-01-01T00:00:00Z")},
			nil},
		{"access policy", schemaOf(NewAccessPolicyResource()),
			accessPolicyModel{Name: types.StringValue("p"), DisplayName: types.StringValue("P"), Realms: realms, Scopes: scopes, Status: types.StringValue("active"), CreatedAt: types.StringUnknown()},
			nil},
		{"token", schemaOf(NewTokenResource()),
			tokenModel{Name: types.StringUnknown(), NamePrefix: types.StringValue("k"), DisplayName: types.StringNull(), AccessPolicy: types.StringValue("p"),
				Expiration: types.StringValue("2030-01-01T00:00:00Z"), Token: types.StringUnknown(), Status: types.StringUnknown(), CreatedAt: types.StringUnknown(),
				ExpireAfter: types.StringNull(), EarlyRotationWindow: types.StringNull(), ExpiresAt: types.StringUnknown(),
				ReadyForRotation: types.BoolValue(false), RevokeOnDestroy: types.BoolValue(true),
				Keepers: keepers, ExpireAfterJitter: types.StringNull()},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch m := tc.model.(type) {
			case tenantModel:
				tc.bare = plainTenant(m)
			case accessPolicyModel:
				tc.bare = plainPolicy(m)
			case tokenModel:
				tc.bare = plainToken(m)
			}
			own, reflected := tc.state, tc.state
			if d := own.Set(ctx, tc.model); d.HasError() {
				t.Fatalf("Set through the model's own conversion: %v", d)
			}
			if d := reflected.Set(ctx, tc.bare); d.HasError() {
				t.Fatalf("Set through reflection: %v", d)
			}
			if !own.Raw.Equal(reflected.Raw) {
				t.Errorf("own conversion\n%s\nreflection\n%s", own.Raw, reflected.Raw)
			}

			// And back: getModel reads the model Get reads by reflection.
			got := reflect.New(reflect.TypeOf(tc.model))
			if d := getModel(ctx, own.Schema, own.Raw, got.Interface()); d.HasError() {
				t.Fatalf("getModel: %v", d)
			}
			bare := reflect.New(reflect.TypeOf(tc.bare))
			if d := reflected.Get(ctx, bare.Interface()); d.HasError() {
				t.Fatalf("Get through reflection: %v", d)
			}
			if want := bare.Elem().Convert(reflect.TypeOf(tc.model)).Interface(); !reflect.DeepEqual(got.Elem().Interface(), want) {
				t.Errorf("getModel\n%#v\nreflection\n%#v", got.Elem().Interface(), want)
			}
			if !reflect.DeepEqual(got.Elem().Interface(), tc.model) {
				t.Errorf("getModel\n%#v\nthe model set\n%#v", got.Elem().Interface(), tc.model)
			}
		})
	}
}

// getModel refuses what Get refuses: a target that is no model pointer, a
// null object, and a model whose fields do not match the object.
func TestGetModelRefusesMismatches(t *testing.T) {
	ctx := context.Background()
	var resp resource.SchemaResponse
	NewTenantResource().Schema(ctx, resource.SchemaRequest{}, &resp)
	state := tfsdk.State{Schema: resp.Schema}
	if d := state.Set(ctx, tenantModel{Name: types.StringValue("team-a"), DisplayName: types.StringNull(),
		Cluster: types.StringNull(), Status: types.StringNull(), CreatedAt: types.StringNull()}); d.HasError() {
		t.Fatal(d)
	}
	var tenant tenantModel
	var token tokenModel
	var short struct {
		Name types.String `tfsdk:"name"`
	}
	var untagged struct{ Name types.String }
	null := tfsdk.State{Schema: resp.Schema}
	null.RemoveResource(ctx)
	for name, tc := range map[string]struct {
		raw    tfsdk.State
		target any
		want   string
	}{
		"not a pointer":     {state, tenant, "pointer to a model"},
		"null object":       {null, &tenant, "null or unknown"},
		"other model":       {state, &token, "fields"},
		"too few fields":    {state, &short, "fields"},
		"field without tag": {state, &untagged, "no tfsdk tag"},
	} {
		t.Run(name, func(t *testing.T) {
			d := getModel(ctx, tc.raw.Schema, tc.raw.Raw, tc.target)
			if !d.HasError() || !strings.Contains(d.Errors()[0].Detail(), tc.want) {
				t.Errorf("getModel = %v, want an error saying %q", d, tc.want)
			}
		})
	}
}

// BenchmarkModelGet reads a token's state the two ways: getModel and the
// framework's struct reflection.
func BenchmarkModelGet(b *testing.B) {
	ctx := context.Background()
	var resp resource.SchemaResponse
	NewTokenResource().Schema(ctx, resource.SchemaRequest{}, &resp)
	state := tfsdk.State{Schema: resp.Schema}
	if d := state.Set(ctx, tokenModel{Name: types.StringValue("k-1"), NamePrefix: types.StringNull(), DisplayName: types.StringValue("K"),
		AccessPolicy: types.StringValue("p"), Expiration: types.StringNull(), Token: types.StringValue("secret"), Status: types.StringValue("active"),
		CreatedAt: types.StringValue("2026-01-01T00:00:00Z"), ExpireAfter: types.StringNull(), EarlyRotationWindow: types.StringNull(),
		ExpiresAt: types.StringNull(), ReadyForRotation: types.BoolValue(false), RevokeOnDestroy: types.BoolValue(true)}); d.HasError() {
		b.Fatal(d)
	}
	b.Run("getModel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m tokenModel
			if d := getModel(ctx, state.Schema, state.Raw, &m); d.HasError() {
				b.Fatal(d)
			}
		}
	})
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m tokenModel
			if d := state.Get(ctx, &m); d.HasError() {
				b.Fatal(d)
			}
		}
	})
}

// modelsOf reads a set of realms, label policies nested, into the models
// ElementsAs reads by reflection, and SetValueFrom makes the same set of
// the realm models (through their own conversion) as of the bare ones.
func TestModelsOfMatchesElementsAs(t *testing.T) {
	ctx := context.Background()
	lp := func(sel string) attr.Value {
		v, _ := types.ObjectValue(labelPolicyType.AttrTypes, map[string]attr.Value{"selector": types.StringValue(sel)})
		return v
	}
	lps, _ := types.SetValue(labelPolicyType, []attr.Value{lp(`{env="prod"}`), lp(`{team="a"}`)})
	noLps := types.SetNull(labelPolicyType)
	r1, _ := types.ObjectValue(realmType.AttrTypes, map[string]attr.Value{"tenant": types.StringValue("team-a"), "cluster": types.StringUnknown(), "label_policy": lps})
	r2, _ := types.ObjectValue(realmType.AttrTypes, map[string]attr.Value{"tenant": types.StringValue("*"), "cluster": types.StringValue("c"), "label_policy": noLps})
	realms, _ := types.SetValue(realmType, []attr.Value{r1, r2})

	var diags diag.Diagnostics
	got := modelsOf[realmModel](ctx, realms, &diags)
	type plainRealm realmModel
	var want []plainRealm
	diags.Append(realms.ElementsAs(ctx, &want, false)...)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if len(got) != len(want) {
		t.Fatalf("modelsOf: %d realms, ElementsAs: %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], realmModel(want[i])) {
			t.Errorf("realm %d: modelsOf\n%#v\nElementsAs\n%#v", i, got[i], want[i])
		}
	}
	own, d1 := types.SetValueFrom(ctx, realmType, got)
	bare, d2 := types.SetValueFrom(ctx, realmType, want)
	if d1.HasError() || d2.HasError() || !own.Equal(bare) || !own.Equal(realms) {
		t.Errorf("SetValueFrom: own %v (%v), reflection %v (%v), want %v", own, d1, bare, d2, realms)
	}
	if n := modelsOf[realmModel](ctx, types.SetNull(realmType), &diags); len(n) != 0 || diags.HasError() {
		t.Errorf("null set: %v, %v", n, diags)
	}
	var bad diag.Diagnostics
	if out := modelsOf[labelPolicyModel](ctx, realms, &bad); out != nil || !bad.HasError() {
		t.Errorf("realms read as label policies: %v, %v", out, bad)
	}
	var unknown diag.Diagnostics
	if out := modelsOf[realmModel](ctx, types.SetUnknown(realmType), &unknown); out != nil || !unknown.HasError() {
		t.Errorf("unknown set: %v, %v", out, unknown)
	}
}

// BenchmarkRealms reads a policy's realms (two, one with a label policy)
// the two ways: modelsOf and ElementsAs's struct reflection.
func BenchmarkRealms(b *testing.B) {
	ctx := context.Background()
	lp, _ := types.ObjectValue(labelPolicyType.AttrTypes, map[string]attr.Value{"selector": types.StringValue(`{env="prod"}`)})
	lps, _ := types.SetValue(labelPolicyType, []attr.Value{lp})
	r1, _ := types.ObjectValue(realmType.AttrTypes, map[string]attr.Value{"tenant": types.StringValue("team-a"), "cluster": types.StringValue("c"), "label_policy": lps})
	r2, _ := types.ObjectValue(realmType.AttrTypes, map[string]attr.Value{"tenant": types.StringValue("team-b"), "cluster": types.StringValue("c"), "label_policy": types.SetNull(labelPolicyType)})
	realms, _ := types.SetValue(realmType, []attr.Value{r1, r2})
	b.Run("modelsOf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var diags diag.Diagnostics
			for _, r := range modelsOf[realmModel](ctx, realms, &diags) {
				_ = modelsOf[labelPolicyModel](ctx, r.LabelPolicies, &diags)
			}
		}
	})
	b.Run("reflection", func(b *testing.B) {
		type plainRealm realmModel
		type plainLabelPolicy labelPolicyModel
		b.ReportAllocs()
		for b.Loop() {
			var rs []plainRealm
			_ = realms.ElementsAs(ctx, &rs, false)
			for _, r := range rs {
				var lps []plainLabelPolicy
				_ = r.LabelPolicies.ElementsAs(ctx, &lps, false)
			}
		}
	})
}
