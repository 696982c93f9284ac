package emulator

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	statusActive   = "active"
	statusInactive = "inactive"

	systemTenant = "__system__"
)

var (
	objectNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)
	scopeRE      = regexp.MustCompile(`^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$`)
)

// apiError carries the HTTP status with the message so the store can decide
// outcomes under its lock while the handlers stay free of business rules.
type apiError struct {
	status int
	msg    string
	field  string
}

func (e *apiError) Error() string { return e.msg }

func errStatus(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// invalid names the field both in the message and separately, so a client can
// map the error onto an attribute path without parsing prose.
func invalid(field, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, field: field, msg: field + ": " + fmt.Sprintf(format, args...)}
}

type clusterRec struct {
	Name      string
	CreatedAt time.Time
}

// meta is what the three kinds of object share, and all that the store's
// common rules (lookup, versions, soft delete) need to know of an object.
type meta struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	Version     int64     `json:"version"`
}

func (m *meta) head() *meta { return m }

type tenantRec struct {
	meta
	Cluster string `json:"cluster"`
}

type labelPolicy struct {
	Selector string `json:"selector"`
}

type realm struct {
	Tenant        string        `json:"tenant"`
	Cluster       string        `json:"cluster"`
	LabelPolicies []labelPolicy `json:"label_policies"`
}

type policyRec struct {
	meta
	Realms []realm  `json:"realms"`
	Scopes []string `json:"scopes"`
}

type tokenRec struct {
	meta
	AccessPolicy string     `json:"access_policy"`
	Expiration   *time.Time `json:"expiration,omitempty"`
	// Only a digest is kept: the secret is shown once, and a stolen state
	// file must not hand out working credentials.
	SecretSHA256 string `json:"secret_sha256"`
}

// bodyMeta is the part of a request body every kind shares.
type bodyMeta struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Status      string `json:"status"`
	// Read-only; accepted so a client may send back an object it read.
	CreatedAt string `json:"created_at"`
}

// kindRules is what differs between kinds in the rules they share.
type kindRules struct {
	// noun names the kind in messages.
	noun string
	// builtin names the one object of the kind the server owns, if any: it
	// is listed and read like the others but never changed or deleted.
	builtin string
	// nameDisplayed makes an empty display name the object's name, on create
	// and on update.
	nameDisplayed bool
}

// table holds the objects of one kind. Its methods that take the store's
// lock are the ones handlers call; the others expect it held.
type table[T any, P interface {
	*T
	head() *meta
}] struct {
	kindRules
	s    *store
	rows map[string]T
}

func newTable[T any, P interface {
	*T
	head() *meta
}](s *store, rules kindRules) *table[T, P] {
	return &table[T, P]{kindRules: rules, s: s, rows: map[string]T{}}
}

func (t *table[T, P]) notFound(name string) *apiError {
	return errStatus(http.StatusNotFound, "%s %q not found", t.noun, name)
}

func (t *table[T, P]) list(all bool) []T {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return sortedValues(t.rows, func(v T) bool { return all || P(&v).head().Status == statusActive })
}

func (t *table[T, P]) get(name string) (T, *apiError) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	v, ok := t.rows[name]
	if !ok {
		var zero T
		return zero, t.notFound(name)
	}
	return v, nil
}

// insert stores a new object whose kind-specific fields the caller has
// checked; the shared ones are filled here.
func (t *table[T, P]) insert(v T, b bodyMeta, now time.Time) (T, *apiError) {
	var zero T
	status, err := checkStatus(b.Status, statusActive)
	if err != nil {
		return zero, err
	}
	if _, taken := t.rows[b.Name]; taken {
		return zero, errStatus(http.StatusConflict, "%s %q already exists", t.noun, b.Name)
	}
	m := P(&v).head()
	*m = meta{Name: b.Name, DisplayName: b.DisplayName, Status: status, CreatedAt: now, Version: 1}
	if m.DisplayName == "" && t.nameDisplayed {
		m.DisplayName = m.Name
	}
	if err := t.s.commit(put(t.rows, m.Name, v)); err != nil {
		return zero, err
	}
	return v, nil
}

// current finds the object a change is aimed at and checks the client saw
// its latest version and may change it at all.
func (t *table[T, P]) current(name string, pre precondition, verb string) (T, *apiError) {
	cur, ok := t.rows[name]
	if !ok {
		var zero T
		return zero, t.notFound(name)
	}
	if err := pre.check(P(&cur).head().Version); err != nil {
		var zero T
		return zero, err
	}
	if t.builtin != "" && name == t.builtin {
		var zero T
		return zero, invalid("name", "the built-in %s %q cannot be %s", t.noun, name, verb)
	}
	return cur, nil
}

// update applies a PUT: the shared fields here, the kind's own in change,
// which sees the object as it is and returns it as it must become.
func (t *table[T, P]) update(name string, pre precondition, b bodyMeta, change func(next *T) *apiError) (T, *apiError) {
	var zero T
	cur, err := t.current(name, pre, "changed")
	if err != nil {
		return zero, err
	}
	if b.Name != "" && b.Name != name {
		return zero, invalid("name", "is immutable (%q in the URL, %q in the body)", name, b.Name)
	}
	next := cur
	if err := change(&next); err != nil {
		return zero, err
	}
	m := P(&next).head()
	if m.Status, err = checkStatus(b.Status, m.Status); err != nil {
		return zero, err
	}
	m.DisplayName = b.DisplayName
	if m.DisplayName == "" && t.nameDisplayed {
		m.DisplayName = name
	}
	m.Version++
	if err := t.s.commit(put(t.rows, name, next)); err != nil {
		return zero, err
	}
	return next, nil
}

// remove is the contract's soft delete: the object turns inactive and stays
// readable; deleting an inactive object again changes nothing.
func (t *table[T, P]) remove(name string, pre precondition) (T, *apiError) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	cur, err := t.current(name, pre, "deleted")
	if err != nil {
		return cur, err
	}
	if P(&cur).head().Status == statusInactive {
		return cur, nil
	}
	next := cur
	m := P(&next).head()
	m.Status = statusInactive
	m.Version++
	if err := t.s.commit(put(t.rows, name, next)); err != nil {
		var zero T
		return zero, err
	}
	return next, nil
}

// store holds every object behind one mutex. A single lock keeps version
// checks and the durable write of a mutation atomic with respect to each
// other, which is the property the optimistic-concurrency rules rely on.
type store struct {
	mu       sync.Mutex
	clusters []clusterRec
	tenants  *table[tenantRec, *tenantRec]
	policies *table[policyRec, *policyRec]
	tokens   *table[tokenRec, *tokenRec]
	// save is nil when nothing is persisted; otherwise it must make the
	// snapshot durable before returning.
	save   func(*stateFile) error
	closed bool
}

func newStore() *store {
	s := &store{}
	s.tenants = newTable[tenantRec](s, kindRules{noun: "tenant", builtin: systemTenant, nameDisplayed: true})
	s.policies = newTable[policyRec](s, kindRules{noun: "access policy"})
	s.tokens = newTable[tokenRec](s, kindRules{noun: "token"})
	return s
}

func (s *store) clusterExists(name string) bool {
	for _, c := range s.clusters {
		if c.Name == name {
			return true
		}
	}
	return false
}

// commit makes the current state durable before a mutation is acknowledged.
// If the disk refuses, the change is undone so memory never claims more than
// the file holds.
func (s *store) commit(undo func()) *apiError {
	if s.closed {
		undo()
		return errStatus(http.StatusServiceUnavailable, "emulator is closed")
	}
	if s.save == nil {
		return nil
	}
	if err := s.save(s.snapshot()); err != nil {
		undo()
		return errStatus(http.StatusInternalServerError, "persisting state: %v", err)
	}
	return nil
}

func put[T any](m map[string]T, name string, v T) (undo func()) {
	old, had := m[name]
	m[name] = v
	return func() {
		if had {
			m[name] = old
		} else {
			delete(m, name)
		}
	}
}

// precondition is the If-Match header as received; present distinguishes a
// missing header (428) from a wrong one (stale, 412 unless the conflict-409
// variant says 409; zero means 412).
type precondition struct {
	present bool
	value   string
	stale   int
}

// preconditionFrom trims only HTTP's optional whitespace (space and tab);
// anything else around the value makes it a different value.
func preconditionFrom(r *http.Request, stale int) precondition {
	v := strings.Trim(r.Header.Get("If-Match"), " \t")
	return precondition{present: v != "", value: v, stale: stale}
}

func (p precondition) check(version int64) *apiError {
	if !p.present {
		return errStatus(http.StatusPreconditionRequired, "If-Match header with the object's version is required")
	}
	// Exactly the forms a client may send back: the ETag as received, without
	// its quotes, or marked weak. Parsing the digits as a number would also
	// take "01", "+1" or a lone quote, which no server handed out.
	n := strconv.FormatInt(version, 10)
	switch p.value {
	case `"` + n + `"`, n, `W/"` + n + `"`:
		return nil
	}
	stale := p.stale
	if stale == 0 {
		stale = http.StatusPreconditionFailed
	}
	return errStatus(stale, "version %q does not match the current version \"%d\"", p.value, version)
}

func sortedValues[T any](m map[string]T, keep func(T) bool) []T {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]T, 0, len(names))
	for _, n := range names {
		if keep(m[n]) {
			out = append(out, m[n])
		}
	}
	return out
}

// ---- validation ----

func validateTenantName(field, name string) *apiError {
	if name == "" {
		return invalid(field, "required")
	}
	if len(name) < 3 || len(name) > 64 || !objectNameRE.MatchString(name) {
		return invalid(field, "must be 3 to 64 characters of [a-z0-9_-], got %q", name)
	}
	return nil
}

func validateObjectName(name string) *apiError {
	if name == "" {
		return invalid("name", "required")
	}
	if len(name) > 128 || !objectNameRE.MatchString(name) {
		return invalid("name", "must be 1 to 128 characters of [a-z0-9_-], got %q", name)
	}
	return nil
}

// checkStatus resolves an empty status to current: the create-time default on
// create, and "leave it as it is" on update, so a PUT that omits status never
// silently re-activates or deactivates an object.
func checkStatus(status, current string) (string, *apiError) {
	switch status {
	case "":
		return current, nil
	case statusActive, statusInactive:
		return status, nil
	}
	return "", invalid("status", "must be %q or %q, got %q", statusActive, statusInactive, status)
}

// ---- clusters ----

func (s *store) listClusters() []clusterRec {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.clusters)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *store) getCluster(name string) (clusterRec, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clusters {
		if c.Name == name {
			return c, nil
		}
	}
	return clusterRec{}, errStatus(http.StatusNotFound, "cluster %q not found", name)
}

// ---- tenants ----

type tenantBody struct {
	bodyMeta
	Cluster string `json:"cluster"`
}

func (s *store) createTenant(b tenantBody, now time.Time) (tenantRec, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := validateTenantName("name", b.Name); err != nil {
		return tenantRec{}, err
	}
	if strings.HasPrefix(b.Name, "__") {
		return tenantRec{}, invalid("name", "names starting with \"__\" are reserved")
	}
	if b.Cluster == "" {
		return tenantRec{}, invalid("cluster", "required")
	}
	if !s.clusterExists(b.Cluster) {
		return tenantRec{}, invalid("cluster", "cluster %q does not exist", b.Cluster)
	}
	return s.tenants.insert(tenantRec{Cluster: b.Cluster}, b.bodyMeta, now)
}

func (s *store) updateTenant(name string, pre precondition, b tenantBody) (tenantRec, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenants.update(name, pre, b.bodyMeta, func(next *tenantRec) *apiError {
		if b.Cluster != next.Cluster {
			return invalid("cluster", "is immutable (is %q, got %q)", next.Cluster, b.Cluster)
		}
		return nil
	})
}

// ---- access policies ----

type policyBody struct {
	bodyMeta
	Realms []realm  `json:"realms"`
	Scopes []string `json:"scopes"`
}

// normalizePolicy validates realms and scopes and returns them in a canonical
// order: order carries no meaning in the contract, and a fixed order is what
// lets the provider prove it compares them as sets.
func (s *store) normalizePolicy(b policyBody) ([]realm, []string, *apiError) {
	if len(b.Realms) == 0 {
		return nil, nil, invalid("realms", "at least one realm is required")
	}
	realms := make([]realm, len(b.Realms))
	for i, rl := range b.Realms {
		field := fmt.Sprintf("realms[%d]", i)
		if rl.Tenant != "*" {
			if err := validateTenantName(field+".tenant", rl.Tenant); err != nil {
				if rl.Tenant != "" {
					err.msg += ` or "*"`
				}
				return nil, nil, err
			}
		}
		if rl.Cluster == "" {
			return nil, nil, invalid(field+".cluster", "required")
		}
		if !s.clusterExists(rl.Cluster) {
			return nil, nil, invalid(field+".cluster", "cluster %q does not exist", rl.Cluster)
		}
		lps := make([]labelPolicy, len(rl.LabelPolicies))
		for j, lp := range rl.LabelPolicies {
			sel := strings.TrimSpace(lp.Selector)
			lfield := fmt.Sprintf("%s.label_policies[%d].selector", field, j)
			if sel == "" {
				return nil, nil, invalid(lfield, "required")
			}
			if !strings.HasPrefix(sel, "{") || !strings.HasSuffix(sel, "}") {
				return nil, nil, invalid(lfield, "must be a label selector of the form {...}, got %q", lp.Selector)
			}
			lps[j] = labelPolicy{Selector: lp.Selector}
		}
		sort.Slice(lps, func(a, b int) bool { return lps[a].Selector < lps[b].Selector })
		realms[i] = realm{Tenant: rl.Tenant, Cluster: rl.Cluster, LabelPolicies: lps}
	}
	sort.SliceStable(realms, func(a, b int) bool { return realmKey(realms[a]) < realmKey(realms[b]) })

	if len(b.Scopes) == 0 {
		return nil, nil, invalid("scopes", "at least one scope is required")
	}
	seen := map[string]bool{}
	for i, sc := range b.Scopes {
		field := fmt.Sprintf("scopes[%d]", i)
		if !scopeRE.MatchString(sc) {
			return nil, nil, invalid(field, "must have the form <resource>:<action>, got %q", sc)
		}
		if seen[sc] {
			return nil, nil, invalid(field, "duplicate scope %q", sc)
		}
		seen[sc] = true
	}
	scopes := slices.Clone(b.Scopes)
	sort.Strings(scopes)
	return realms, scopes, nil
}

func realmKey(r realm) string {
	sels := make([]string, len(r.LabelPolicies))
	for i, lp := range r.LabelPolicies {
		sels[i] = lp.Selector
	}
	return r.Tenant + "\x00" + r.Cluster + "\x00" + strings.Join(sels, "\x00")
}

func (s *store) createPolicy(b policyBody, now time.Time) (policyRec, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := validateObjectName(b.Name); err != nil {
		return policyRec{}, err
	}
	realms, scopes, err := s.normalizePolicy(b)
	if err != nil {
		return policyRec{}, err
	}
	return s.policies.insert(policyRec{Realms: realms, Scopes: scopes}, b.bodyMeta, now)
}

func (s *store) updatePolicy(name string, pre precondition, b policyBody) (policyRec, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policies.update(name, pre, b.bodyMeta, func(next *policyRec) *apiError {
		realms, scopes, err := s.normalizePolicy(b)
		if err != nil {
			return err
		}
		next.Realms, next.Scopes = realms, scopes
		return nil
	})
}

// ---- tokens ----

type tokenBody struct {
	bodyMeta
	AccessPolicy string `json:"access_policy"`
	Expiration   string `json:"expiration"`
}

// createToken returns the secret alongside the record; it is the only moment
// the secret exists outside the caller's hands.
func (s *store) createToken(b tokenBody, now time.Time) (tokenRec, string, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := validateObjectName(b.Name); err != nil {
		return tokenRec{}, "", err
	}
	if b.AccessPolicy == "" {
		return tokenRec{}, "", invalid("access_policy", "required")
	}
	pol, ok := s.policies.rows[b.AccessPolicy]
	if !ok {
		return tokenRec{}, "", invalid("access_policy", "access policy %q does not exist", b.AccessPolicy)
	}
	if pol.Status != statusActive {
		return tokenRec{}, "", invalid("access_policy", "access policy %q is not active", b.AccessPolicy)
	}
	var exp *time.Time
	if b.Expiration != "" {
		t, err := time.Parse(time.RFC3339, b.Expiration)
		if err != nil {
			return tokenRec{}, "", invalid("expiration", "must be an RFC 3339 timestamp, got %q", b.Expiration)
		}
		t = t.UTC().Truncate(time.Second)
		if !t.After(now) {
			return tokenRec{}, "", invalid("expiration", "must be in the future, got %s", t.Format(time.RFC3339))
		}
		exp = &t
	}
	// A token is born active: a secret for a token that never worked would
	// be useless, and tokens cannot be updated to activate it later.
	if b.Status != "" && b.Status != statusActive {
		return tokenRec{}, "", invalid("status", "a new token must be %q, got %q", statusActive, b.Status)
	}
	if _, taken := s.tokens.rows[b.Name]; taken {
		// Checked before a secret is made, so a conflict costs no entropy.
		return tokenRec{}, "", errStatus(http.StatusConflict, "token %q already exists", b.Name)
	}
	secret, err := newTokenSecret(b.Name)
	if err != nil {
		return tokenRec{}, "", errStatus(http.StatusInternalServerError, "generating secret: %v", err)
	}
	digest := sha256.Sum256([]byte(secret))
	t, aerr := s.tokens.insert(tokenRec{
		AccessPolicy: b.AccessPolicy,
		Expiration:   exp,
		SecretSHA256: hex.EncodeToString(digest[:]),
	}, b.bodyMeta, now)
	if aerr != nil {
		return tokenRec{}, "", aerr
	}
	return t, secret, nil
}

// ---- credentials ----

// tokenVerdict is what a presented secret amounts to; callers turn it into
// 401 or 403 according to which surface (admin or data path) asked.
type tokenVerdict int

const (
	verdictUnknown tokenVerdict = iota // not a token secret we issued
	verdictDead                        // revoked or expired
	verdictLive
)

// lookupSecret must be called with s.mu held.
func (s *store) lookupSecret(secret string, now time.Time) (tokenRec, tokenVerdict) {
	name, ok := tokenNameFromSecret(secret)
	if !ok {
		return tokenRec{}, verdictUnknown
	}
	t, ok := s.tokens.rows[name]
	want := make([]byte, sha256.Size)
	if ok {
		if b, err := hex.DecodeString(t.SecretSHA256); err == nil && len(b) == sha256.Size {
			want = b
		}
	}
	got := sha256.Sum256([]byte(secret))
	// Compared even when the name is unknown, so response time does not tell
	// which token names exist.
	if subtle.ConstantTimeCompare(got[:], want) != 1 || !ok {
		return tokenRec{}, verdictUnknown
	}
	if t.Status != statusActive || (t.Expiration != nil && !now.Before(*t.Expiration)) {
		return t, verdictDead
	}
	return t, verdictLive
}

// adminScopes reports which admin scopes a token secret carries. ok is false
// when the secret is not a usable credential at all (401).
func (s *store) adminScopes(secret string, now time.Time) (read, write, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, v := s.lookupSecret(secret, now)
	if v != verdictLive {
		return false, false, false
	}
	p, found := s.policies.rows[t.AccessPolicy]
	if !found || p.Status != statusActive {
		return false, false, true
	}
	return slices.Contains(p.Scopes, "admin:read"), slices.Contains(p.Scopes, "admin:write"), true
}

// authorizeData decides one data-path request: status 0 means allowed.
func (s *store) authorizeData(secret string, tenants []string, scope, thisCluster string, now time.Time) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, v := s.lookupSecret(secret, now)
	switch v {
	case verdictUnknown:
		return http.StatusUnauthorized, "invalid token"
	case verdictDead:
		return http.StatusUnauthorized, "token revoked or expired"
	}
	p, ok := s.policies.rows[t.AccessPolicy]
	if !ok || p.Status != statusActive {
		return http.StatusForbidden, "access policy is not active"
	}
	if !slices.Contains(p.Scopes, scope) {
		return http.StatusForbidden, fmt.Sprintf("access policy lacks scope %s", scope)
	}
	for _, name := range tenants {
		tn, ok := s.tenants.rows[name]
		if !ok || tn.Status != statusActive {
			return http.StatusForbidden, fmt.Sprintf("tenant %q is not an active tenant", name)
		}
		// The contract says a tenant is only usable from its own cluster.
		if tn.Cluster != thisCluster {
			return http.StatusForbidden, fmt.Sprintf("tenant %q belongs to another cluster", name)
		}
		if !slices.ContainsFunc(p.Realms, func(r realm) bool {
			return (r.Tenant == name || r.Tenant == "*") && r.Cluster == thisCluster
		}) {
			return http.StatusForbidden, fmt.Sprintf("no realm of the access policy grants tenant %q on cluster %q", name, thisCluster)
		}
	}
	return 0, ""
}
