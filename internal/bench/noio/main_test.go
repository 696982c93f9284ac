package main

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Create and update must leave nothing unknown, or the CLI refuses the
// new state.
func TestKnownFillsEveryUnknown(t *testing.T) {
	realm := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"tenant": tftypes.String, "cluster": tftypes.String}}
	typ := tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"name": tftypes.String, "display_name": tftypes.String, "token": tftypes.String, "created_at": tftypes.String,
		"expires_at": tftypes.String, "ready_for_rotation": tftypes.Bool, "realm": tftypes.Set{ElementType: realm},
	}}
	unknown := func(t tftypes.Type) tftypes.Value { return tftypes.NewValue(t, tftypes.UnknownValue) }
	plan := tftypes.NewValue(typ, map[string]tftypes.Value{
		"name": unknown(tftypes.String), "display_name": unknown(tftypes.String), "token": unknown(tftypes.String),
		"created_at": unknown(tftypes.String), "expires_at": unknown(tftypes.String), "ready_for_rotation": unknown(tftypes.Bool),
		"realm": tftypes.NewValue(typ.AttributeTypes["realm"], []tftypes.Value{
			tftypes.NewValue(realm, map[string]tftypes.Value{"tenant": tftypes.NewValue(tftypes.String, "t-1"), "cluster": unknown(tftypes.String)}),
		}),
	})
	got, err := known(plan)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IsFullyKnown() {
		t.Fatalf("unknowns left: %s", got)
	}
	var attrs map[string]tftypes.Value
	if err := got.As(&attrs); err != nil {
		t.Fatal(err)
	}
	var name, display string
	_ = attrs["name"].As(&name)
	_ = attrs["display_name"].As(&display)
	if name == "" || display != name {
		t.Errorf("name %q, display_name %q", name, display)
	}
}
