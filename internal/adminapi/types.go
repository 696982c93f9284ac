package adminapi

// Status values of tenants, access policies and tokens. Deletion in the v3
// API is soft: it sets StatusInactive.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
)

// Cluster is a GET cluster. Clusters are read-only through the admin API.
type Cluster struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	CreatedAt   string `json:"created_at,omitempty"`
	Kind        string `json:"kind,omitempty"`
}

// Tenant is a GET tenant; its name is the tenant ID on the data path.
type Tenant struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Cluster     string `json:"cluster"`
	Status      string `json:"status,omitempty"`
	CreatedAt   string `json:"created_at,omitempty"`

	// Version is the object's ETag value as read from the server. It is sent
	// as If-Match on update and delete. Zero means unknown: the client then
	// reads the current version first.
	Version int64 `json:"-"`
}

// LabelPolicy restricts a realm to the series or streams a selector matches.
type LabelPolicy struct {
	Selector string `json:"selector"`
}

// Realm is one tenant (or "*", every tenant) of one cluster that an access
// policy grants its scopes on.
type Realm struct {
	Tenant        string        `json:"tenant"`
	Cluster       string        `json:"cluster"`
	LabelPolicies []LabelPolicy `json:"label_policies,omitempty"`
}

// AccessPolicy grants scopes on realms. The server may return realms and
// scopes in any order.
type AccessPolicy struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name,omitempty"`
	Realms      []Realm  `json:"realms"`
	Scopes      []string `json:"scopes"`
	Status      string   `json:"status,omitempty"`
	CreatedAt   string   `json:"created_at,omitempty"`

	// Version: see Tenant.Version.
	Version int64 `json:"-"`
}

// Token is an access token of an access policy. Tokens are immutable and
// their secret is only returned by the create call.
type Token struct {
	Name         string `json:"name"`
	DisplayName  string `json:"display_name,omitempty"`
	AccessPolicy string `json:"access_policy"`
	Expiration   string `json:"expiration,omitempty"`
	Status       string `json:"status,omitempty"`
	CreatedAt    string `json:"created_at,omitempty"`

	// Secret is only set on the result of CreateToken.
	Secret Secret `json:"token,omitempty"`

	// Version: see Tenant.Version.
	Version int64 `json:"-"`
}

// Secret holds a token secret. It prints as "(sensitive)" with the fmt
// verbs, so that a struct dumped into a log or an error does not leak it;
// call Reveal to get the value.
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String hides the secret from fmt's %s and %v.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "(sensitive)"
}

// GoString hides the secret from fmt's %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// list is the envelope of every collection response.
type list[T any] struct {
	Type  string `json:"type"`
	Items []T    `json:"items"`
}
