package provider

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The resource models are tftypes.ValueCreators, so that State.Set,
// Plan.Set and the like convert them to Terraform values without the
// framework's struct reflection. That reflection checks every field's tag
// against a regular expression it compiles anew on each call
// (terraform-plugin-framework issue 725): for a token, about a hundred
// microseconds and 800 allocations per Set, several Sets per object per run.
// modelValue reads the same tfsdk tags once per type.
func (m tenantModel) ToTerraform5Value() (any, error)       { return modelValue(m) }
func (m accessPolicyModel) ToTerraform5Value() (any, error) { return modelValue(m) }
func (m tokenModel) ToTerraform5Value() (any, error)        { return modelValue(m) }
func (m nameIdentity) ToTerraform5Value() (any, error)      { return modelValue(m) }

var (
	_ tftypes.ValueCreator = tenantModel{}
	_ tftypes.ValueCreator = accessPolicyModel{}
	_ tftypes.ValueCreator = tokenModel{}
	_ tftypes.ValueCreator = nameIdentity{}
)

// modelFields caches, per model type, each tfsdk tag with its field index.
var modelFields sync.Map // reflect.Type → []modelField

type modelField struct {
	tag   string
	index int
}

// modelValue is an object's attribute values by tfsdk tag, as tftypes.NewValue
// takes them for an object type. Every field of a model is an attr.Value.
func modelValue(m any) (any, error) {
	v := reflect.ValueOf(m)
	fields, ok := modelFields.Load(v.Type())
	if !ok {
		var fs []modelField
		for i := range v.NumField() {
			tag := v.Type().Field(i).Tag.Get("tfsdk")
			if tag == "" || tag == "-" {
				return nil, fmt.Errorf("%s.%s: no tfsdk tag", v.Type(), v.Type().Field(i).Name)
			}
			fs = append(fs, modelField{tag: tag, index: i})
		}
		fields, _ = modelFields.LoadOrStore(v.Type(), fs)
	}
	out := map[string]tftypes.Value{}
	for _, f := range fields.([]modelField) {
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
