package provider

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The resource models are tftypes.ValueCreators, so that State.Set,
// Plan.Set and the like convert them to Terraform values without the
// framework's struct reflection. That reflection checks every field's tag
// against a regular expression it compiles anew on each call
// (terraform-plugin-framework issue 725): for a token, about a hundred
// microseconds and 800 allocations per Set, several Sets per object per run.
// modelValue reads the same tfsdk tags once per type. Get has no such hook
// for a struct target, so the resources read their plans, states and
// configurations with getModel instead.
func (m tenantModel) ToTerraform5Value() (any, error)       { return modelValue(m) }
func (m accessPolicyModel) ToTerraform5Value() (any, error) { return modelValue(m) }
func (m tokenModel) ToTerraform5Value() (any, error)        { return modelValue(m) }
func (m nameIdentity) ToTerraform5Value() (any, error)      { return modelValue(m) }
func (m realmModel) ToTerraform5Value() (any, error)        { return modelValue(m) }
func (m labelPolicyModel) ToTerraform5Value() (any, error)  { return modelValue(m) }

var (
	_ tftypes.ValueCreator = tenantModel{}
	_ tftypes.ValueCreator = accessPolicyModel{}
	_ tftypes.ValueCreator = tokenModel{}
	_ tftypes.ValueCreator = nameIdentity{}
	_ tftypes.ValueCreator = realmModel{}
	_ tftypes.ValueCreator = labelPolicyModel{}
)

// modelFields caches, per model type, each tfsdk tag with its field index.
var modelFields sync.Map // reflect.Type → []modelField

type modelField struct {
	tag   string
	index int
}

// fieldsOf reads a model type's tfsdk tags, once per type.
func fieldsOf(t reflect.Type) ([]modelField, error) {
	if fields, ok := modelFields.Load(t); ok {
		return fields.([]modelField), nil
	}
	var fs []modelField
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("tfsdk")
		if tag == "" || tag == "-" {
			return nil, fmt.Errorf("%s.%s: no tfsdk tag", t, t.Field(i).Name)
		}
		fs = append(fs, modelField{tag: tag, index: i})
	}
	fields, _ := modelFields.LoadOrStore(t, fs)
	return fields.([]modelField), nil
}

// modelValue is an object's attribute values by tfsdk tag, as tftypes.NewValue
// takes them for an object type. Every field of a model is an attr.Value.
func modelValue(m any) (any, error) {
	v := reflect.ValueOf(m)
	fields, err := fieldsOf(v.Type())
	if err != nil {
		return nil, err
	}
	out := make(map[string]tftypes.Value, len(fields))
	for _, f := range fields {
		a, ok := v.Field(f.index).Interface().(attr.Value)
		if !ok {
			return nil, fmt.Errorf("%s: field %q is not an attr.Value", v.Type(), f.tag)
		}
		tv, err := a.ToTerraformValue(context.Background())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.tag, err)
		}
		out[f.tag] = tv
	}
	return out, nil
}

// schemaType is what getModel needs of a plan's, state's or config's schema.
type schemaType interface{ Type() attr.Type }

// getModel does what Plan.Get, State.Get and Config.Get do for a model
// (target, a pointer to one), without the framework's struct reflection:
// each attribute of raw becomes the field of its tfsdk tag, converted by the
// attribute's type in the schema. As with Get, every attribute must have a
// field and every field an attribute; a null or unknown object is an error.
func getModel(ctx context.Context, schema schemaType, raw tftypes.Value, target any) diag.Diagnostics {
	return objectInto(ctx, schema.Type(), raw, target)
}

// modelsOf reads a set of objects into models, as ElementsAs does, each
// element through objectInto. A null set has no elements; an unknown one is
// an error.
func modelsOf[T any](ctx context.Context, set types.Set, diags *diag.Diagnostics) []T {
	if set.IsUnknown() {
		diags.AddError("Value Conversion Error", "An unexpected error was encountered trying to read a set that is not known yet. "+
			"This is always an error in the provider. Please report it to the provider developer.")
		return nil
	}
	elems := set.Elements()
	out := make([]T, len(elems))
	for i, e := range elems {
		raw, err := e.ToTerraformValue(ctx)
		if err != nil {
			diags.AddError("Value Conversion Error", "An unexpected error was encountered trying to read a set element. "+
				"This is always an error in the provider. Please report the following to the provider developer:\n\n"+err.Error())
			return nil
		}
		if d := objectInto(ctx, e.Type(ctx), raw, &out[i]); d.HasError() {
			diags.Append(d...)
			return nil
		}
	}
	return out
}

// objectInto sets the model target points to from raw, an object of type typ.
func objectInto(ctx context.Context, typ attr.Type, raw tftypes.Value, target any) diag.Diagnostics {
	var diags diag.Diagnostics
	fail := func(err error) diag.Diagnostics {
		diags.AddError("Value Conversion Error",
			"An unexpected error was encountered trying to read the configuration, plan or state. "+
				"This is always an error in the provider. Please report the following to the provider developer:\n\n"+err.Error())
		return diags
	}
	ptr := reflect.ValueOf(target)
	if ptr.Kind() != reflect.Pointer || ptr.Elem().Kind() != reflect.Struct {
		return fail(fmt.Errorf("target must be a pointer to a model, got %T", target))
	}
	model := ptr.Elem()
	fields, err := fieldsOf(model.Type())
	if err != nil {
		return fail(err)
	}
	if raw.IsNull() || !raw.IsKnown() {
		return fail(fmt.Errorf("%s: the object is null or unknown", model.Type()))
	}
	objType, ok := typ.(attr.TypeWithAttributeTypes)
	if !ok {
		return fail(fmt.Errorf("%s: the schema is not an object type", model.Type()))
	}
	var values map[string]tftypes.Value
	if err := raw.As(&values); err != nil {
		return fail(fmt.Errorf("%s: %w", model.Type(), err))
	}
	if len(values) != len(fields) {
		return fail(fmt.Errorf("%s has %d fields, the object %d attributes", model.Type(), len(fields), len(values)))
	}
	attrTypes := objType.AttributeTypes()
	for _, f := range fields {
		tv, ok := values[f.tag]
		at, okType := attrTypes[f.tag]
		if !ok || !okType {
			return fail(fmt.Errorf("%s: no attribute %q in the object", model.Type(), f.tag))
		}
		av, err := at.ValueFromTerraform(ctx, tv)
		if err != nil {
			return fail(fmt.Errorf("%s.%s: %w", model.Type(), f.tag, err))
		}
		field := model.Field(f.index)
		value := reflect.ValueOf(av)
		if !value.Type().AssignableTo(field.Type()) {
			return fail(fmt.Errorf("%s.%s: a %s cannot hold a %s", model.Type(), f.tag, field.Type(), value.Type()))
		}
		field.Set(value)
	}
	return diags
}
