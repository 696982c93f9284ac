package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const basePath = "/admin/api/v3"

// maxBody bounds request bodies; real objects are a few hundred bytes.
const maxBody = 1 << 20

// ---- wire shapes ----

type clusterJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
	Kind        string `json:"kind"`
}

type tenantJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Cluster     string `json:"cluster"`
	Status      string `json:"status"`
	CreatedAt   string `json:"created_at"`
}

type policyJSON struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Realms      []realm  `json:"realms"`
	Scopes      []string `json:"scopes"`
	Status      string   `json:"status"`
	CreatedAt   string   `json:"created_at"`
}

type tokenJSON struct {
	Name         string `json:"name"`
	DisplayName  string `json:"display_name"`
	AccessPolicy string `json:"access_policy"`
	Expiration   string `json:"expiration,omitempty"`
	Status       string `json:"status"`
	CreatedAt    string `json:"created_at"`
	Token        string `json:"token,omitempty"`
}

type listJSON[T any] struct {
	Type  string `json:"type"`
	Items []T    `json:"items"`
}

func formatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

func clusterOut(c clusterRec) clusterJSON {
	return clusterJSON{Name: c.Name, DisplayName: c.Name, CreatedAt: formatTime(c.CreatedAt), Kind: "traces"}
}

func tenantOut(t tenantRec) tenantJSON {
	return tenantJSON{Name: t.Name, DisplayName: t.DisplayName, Cluster: t.Cluster, Status: t.Status, CreatedAt: formatTime(t.CreatedAt)}
}

func policyOut(p policyRec) policyJSON {
	realms := make([]realm, len(p.Realms))
	for i, r := range p.Realms {
		realms[i] = r
		// Always an array, never null, so clients need not special-case it.
		if realms[i].LabelPolicies == nil {
			realms[i].LabelPolicies = []labelPolicy{}
		}
	}
	return policyJSON{Name: p.Name, DisplayName: p.DisplayName, Realms: realms, Scopes: p.Scopes, Status: p.Status, CreatedAt: formatTime(p.CreatedAt)}
}

func tokenOut(t tokenRec) tokenJSON {
	out := tokenJSON{Name: t.Name, DisplayName: t.DisplayName, AccessPolicy: t.AccessPolicy, Status: t.Status, CreatedAt: formatTime(t.CreatedAt)}
	if t.Expiration != nil {
		out.Expiration = formatTime(*t.Expiration)
	}
	return out
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// ---- response helpers ----

// writeJSON sets ETag when version > 0: the contract puts the version on
// every single-object response and on nothing else.
func writeJSON(w http.ResponseWriter, status int, version int64, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"encoding response"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if version > 0 {
		h.Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeError answers an error from the admin API or the data path in the
// form the server variant chose.
func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	if s.compat.TextErrors {
		// http.Error is what a Go server answering plain text most likely
		// uses, so its exact form (trailing newline, nosniff) is the one to
		// test clients against.
		http.Error(w, e.msg, e.status)
		return
	}
	writeJSONError(w, e)
}

// writeJSONError is the contract's error form. The control surface always
// uses it: scripts and tests read it whatever variant is being tested.
func writeJSONError(w http.ResponseWriter, e *apiError) {
	body := map[string]string{"error": e.msg}
	if e.field != "" {
		body["field"] = e.field
	}
	writeJSON(w, e.status, 0, body)
}

// decodeBody is strict about unknown fields: a misspelt field would otherwise
// be silently dropped here and the client bug would only show on a real server.
func decodeBody(r *http.Request, v any) *apiError {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errStatus(http.StatusBadRequest, "reading body: %v", err)
	}
	if len(data) > maxBody {
		return errStatus(http.StatusRequestEntityTooLarge, "body larger than %d bytes", maxBody)
	}
	// Decoding null or an array into a struct would not fail, or would fail
	// naming Go types; every body of the API is an object.
	if rest := bytes.TrimLeft(data, " \t\r\n"); len(rest) == 0 || rest[0] != '{' {
		return errStatus(http.StatusBadRequest, "a JSON object body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			// The decoder names a field of an embedded struct by its Go
			// path; the client knows only the JSON one.
			field := strings.TrimPrefix(typeErr.Field, "bodyMeta.")
			return invalid(field, "must be a JSON %s", typeErr.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return invalid(field, "unknown field")
		}
		return errStatus(http.StatusBadRequest, "invalid JSON body: %v", err)
	}
	if !atEnd(dec) {
		return errStatus(http.StatusBadRequest, "invalid JSON body: data after the object")
	}
	return nil
}

// atEnd reports whether nothing but whitespace follows the value just
// decoded. dec.More alone is not enough: it reports false for a stray "]"
// or "}", which would let `{...}]` through.
func atEnd(dec *json.Decoder) bool {
	_, err := dec.Token()
	return err == io.EOF
}

// methodNotAllowed sets Allow and returns the error, for the caller to
// write in its own form.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow ...string) *apiError {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	return errStatus(http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
}

func includeNonActive(r *http.Request) (bool, *apiError) {
	v := r.URL.Query().Get("include-non-active")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid("include-non-active", "must be true or false, got %q", v)
	}
	return b, nil
}

// ---- routing ----

// serveAdmin is only reached once ServeHTTP has authorized the request, so
// nothing about the API, not even which routes exist, is visible without a
// credential.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, basePath)
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	var collection, name string
	switch {
	case len(parts) == 1 && parts[0] != "":
		collection = parts[0]
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		collection, name = parts[0], parts[1]
	default:
		s.writeError(w, errStatus(http.StatusNotFound, "no route for %s", r.URL.Path))
		return
	}
	switch collection {
	case "clusters":
		s.serveClusters(w, r, name)
	case "tenants":
		s.serveTenants(w, r, name)
	case "accesspolicies":
		s.servePolicies(w, r, name)
	case "tokens":
		s.serveTokens(w, r, name)
	default:
		s.writeError(w, errStatus(http.StatusNotFound, "no route for %s", r.URL.Path))
	}
}

func (s *Server) serveClusters(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodGet {
		s.writeError(w, methodNotAllowed(w, r, http.MethodGet))
		return
	}
	if name == "" {
		writeJSON(w, http.StatusOK, 0, listJSON[clusterJSON]{Type: "cluster", Items: mapSlice(s.store.listClusters(), clusterOut)})
		return
	}
	c, err := s.store.getCluster(name)
	if err != nil {
		s.writeError(w, err)
		return
	}
	// Clusters are read-only, so their version never moves past 1.
	writeJSON(w, http.StatusOK, 1, clusterOut(c))
}

// objectHandlers binds one object kind to the generic collection/item
// handler, so the HTTP rules (status codes, ETag, If-Match, lists) are
// written once for all three kinds.
type objectHandlers[B, R, J any] struct {
	kind    string
	list    func(all bool) []R
	get     func(name string) (R, *apiError)
	create  func(b B, now time.Time) (R, string, *apiError)
	update  func(name string, pre precondition, b B) (R, *apiError) // nil: immutable kind
	remove  func(name string, pre precondition) (R, *apiError)
	out     func(R) J
	version func(R) int64
	secret  func(J, string) J // puts the create-only secret into the response
}

func serveObjects[B, R, J any](s *Server, w http.ResponseWriter, r *http.Request, name string, h objectHandlers[B, R, J]) {
	if name == "" {
		switch r.Method {
		case http.MethodGet:
			all, err := includeNonActive(r)
			if err != nil {
				s.writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, 0, listJSON[J]{Type: h.kind, Items: mapSlice(h.list(all), h.out)})
		case http.MethodPost:
			var b B
			if err := decodeBody(r, &b); err != nil {
				s.writeError(w, err)
				return
			}
			rec, secret, err := h.create(b, s.now())
			if err != nil {
				s.writeError(w, err)
				return
			}
			out := h.out(rec)
			if h.secret != nil {
				out = h.secret(out, secret)
			}
			status := http.StatusCreated
			if s.compat.Create200 {
				status = http.StatusOK
			}
			writeJSON(w, status, h.version(rec), out)
		default:
			s.writeError(w, methodNotAllowed(w, r, http.MethodGet, http.MethodPost))
		}
		return
	}

	var (
		rec R
		err *apiError
	)
	switch r.Method {
	case http.MethodGet:
		rec, err = h.get(name)
	case http.MethodPut:
		if h.update == nil {
			s.writeError(w, methodNotAllowed(w, r, http.MethodGet, http.MethodDelete))
			return
		}
		var (
			b   B
			cur R
		)
		pre := s.precondition(r)
		// Existence and version are checked before the body, so a client
		// learns about 404/428/412 even when its body is also wrong. The
		// update re-checks the version under the store lock.
		if cur, err = h.get(name); err == nil {
			if err = pre.check(h.version(cur)); err == nil {
				if err = decodeBody(r, &b); err == nil {
					rec, err = h.update(name, pre, b)
				}
			}
		}
	case http.MethodDelete:
		rec, err = h.remove(name, s.precondition(r))
	default:
		allow := []string{http.MethodGet, http.MethodPut, http.MethodDelete}
		if h.update == nil {
			allow = []string{http.MethodGet, http.MethodDelete}
		}
		s.writeError(w, methodNotAllowed(w, r, allow...))
		return
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	if r.Method == http.MethodDelete && s.compat.Delete204 {
		// No body, so no ETag either: a client must not need the version
		// a delete produced.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, h.version(rec), h.out(rec))
}

func (s *Server) precondition(r *http.Request) precondition {
	stale := http.StatusPreconditionFailed
	if s.compat.Conflict409 {
		stale = http.StatusConflict
	}
	return preconditionFrom(r, stale)
}

// defaultDisplayName applies the display-name-default variant. The store
// keeps the contract's rules; only tenants default there, as documented.
func (s *Server) defaultDisplayName(display *string, name string) {
	if s.compat.DisplayNameDefault && *display == "" {
		*display = name
	}
}

func (s *Server) serveTenants(w http.ResponseWriter, r *http.Request, name string) {
	serveObjects(s, w, r, name, objectHandlers[tenantBody, tenantRec, tenantJSON]{
		kind: "tenant",
		list: s.store.tenants.list,
		get:  s.store.tenants.get,
		create: func(b tenantBody, now time.Time) (tenantRec, string, *apiError) {
			t, err := s.store.createTenant(b, now)
			return t, "", err
		},
		update:  s.store.updateTenant,
		remove:  s.store.tenants.remove,
		out:     tenantOut,
		version: func(t tenantRec) int64 { return t.Version },
	})
}

func (s *Server) servePolicies(w http.ResponseWriter, r *http.Request, name string) {
	serveObjects(s, w, r, name, objectHandlers[policyBody, policyRec, policyJSON]{
		kind: "accesspolicy",
		list: s.store.policies.list,
		get:  s.store.policies.get,
		create: func(b policyBody, now time.Time) (policyRec, string, *apiError) {
			s.defaultDisplayName(&b.DisplayName, b.Name)
			p, err := s.store.createPolicy(b, now)
			return p, "", err
		},
		update: func(name string, pre precondition, b policyBody) (policyRec, *apiError) {
			s.defaultDisplayName(&b.DisplayName, name)
			return s.store.updatePolicy(name, pre, b)
		},
		remove:  s.store.policies.remove,
		out:     policyOut,
		version: func(p policyRec) int64 { return p.Version },
	})
}

func (s *Server) serveTokens(w http.ResponseWriter, r *http.Request, name string) {
	serveObjects(s, w, r, name, objectHandlers[tokenBody, tokenRec, tokenJSON]{
		kind: "token",
		list: s.store.tokens.list,
		get:  s.store.tokens.get,
		create: func(b tokenBody, now time.Time) (tokenRec, string, *apiError) {
			s.defaultDisplayName(&b.DisplayName, b.Name)
			return s.store.createToken(b, now)
		},
		remove:  s.store.tokens.remove,
		out:     tokenOut,
		version: func(t tokenRec) int64 { return t.Version },
		secret: func(j tokenJSON, secret string) tokenJSON {
			j.Token = secret
			return j
		},
	})
}
