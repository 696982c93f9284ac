package emulator

import (
	"fmt"
	"strings"
)

// Compat selects server variants for rules ADMIN-API.md tags [chosen] or
// [unknown]: where the real server may behave otherwise, the client must
// cope with every plausible behaviour, and each variant lets a test prove it
// does. The zero value is the strict behaviour the contract chose.
type Compat struct {
	// DisplayNameDefault stores display_name = name when a create or update
	// of an access policy or token leaves it empty, as tenants always do
	// ("display-name-default").
	DisplayNameDefault bool
	// Conflict409 answers a stale If-Match with 409 instead of 412
	// ("conflict-409"). A missing If-Match stays 428.
	Conflict409 bool
	// Create200 answers a create with 200 instead of 201, with the same
	// body and ETag ("create-200").
	Create200 bool
	// Delete204 answers a delete with 204 and no body, so no ETag either
	// ("delete-204").
	Delete204 bool
	// TextErrors answers errors as text/plain with the bare message, e.g.
	// "name: required", instead of a JSON object ("text-errors"). The
	// /_emulator/ control surface keeps answering JSON.
	TextErrors bool
	// OffsetTimes writes every instant of the admin API with a numeric
	// offset, "2027-01-31T00:00:00+00:00", instead of "Z"
	// ("offset-times"): the same instants, spelled another way.
	OffsetTimes bool
}

// compatVariants is the one list of variant names, in the order String and
// CompatVariants give them.
var compatVariants = []struct {
	name string
	flag func(*Compat) *bool
}{
	{"display-name-default", func(c *Compat) *bool { return &c.DisplayNameDefault }},
	{"conflict-409", func(c *Compat) *bool { return &c.Conflict409 }},
	{"create-200", func(c *Compat) *bool { return &c.Create200 }},
	{"delete-204", func(c *Compat) *bool { return &c.Delete204 }},
	{"text-errors", func(c *Compat) *bool { return &c.TextErrors }},
	{"offset-times", func(c *Compat) *bool { return &c.OffsetTimes }},
}

// CompatVariants returns the names ParseCompat understands, besides "all"
// and "strict".
func CompatVariants() []string {
	names := make([]string, len(compatVariants))
	for i, v := range compatVariants {
		names[i] = v.name
	}
	return names
}

// ParseCompat reads a comma-separated list of variant names. "all" selects
// every variant; "" or "strict" selects none, and "strict" cannot be
// combined with a variant, since asking for both is a mistake.
func ParseCompat(s string) (Compat, error) {
	var c Compat
	strict := false
	for _, name := range strings.Split(s, ",") {
		switch name = strings.TrimSpace(name); name {
		case "":
		case "strict":
			strict = true
		case "all":
			for _, v := range compatVariants {
				*v.flag(&c) = true
			}
		default:
			if !c.set(name) {
				return Compat{}, fmt.Errorf("unknown server variant %q (valid: %s, all, strict)", name, strings.Join(CompatVariants(), ", "))
			}
		}
	}
	if strict && c != (Compat{}) {
		return Compat{}, fmt.Errorf("server variant \"strict\" means none and cannot be combined with others (valid: %s, all, strict)", strings.Join(CompatVariants(), ", "))
	}
	return c, nil
}

func (c *Compat) set(name string) bool {
	for _, v := range compatVariants {
		if v.name == name {
			*v.flag(c) = true
			return true
		}
	}
	return false
}

// String lists the selected variants the way ParseCompat reads them, or
// "strict" for none.
func (c Compat) String() string {
	var names []string
	for _, v := range compatVariants {
		if *v.flag(&c) {
			names = append(names, v.name)
		}
	}
	if len(names) == 0 {
		return "strict"
	}
	return strings.Join(names, ",")
}
