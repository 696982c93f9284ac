package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
)

// newTokenSecret builds the documented form base64("<name>:<random>"), so a
// data-path server can find the token by name without scanning every digest.
func newTokenSecret(name string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString([]byte(name + ":" + hex.EncodeToString(b[:]))), nil
}

func tokenNameFromSecret(secret string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		return "", false
	}
	name, rest, ok := strings.Cut(string(raw), ":")
	if !ok || name == "" || rest == "" {
		return "", false
	}
	return name, true
}

// adminCredential extracts the admin token from Basic (any user name, as
// `curl -u :$TOKEN` sends an empty one) or Bearer authorization.
func adminCredential(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		_, pass, ok := r.BasicAuth()
		return pass, ok && pass != ""
	case strings.EqualFold(scheme, "Bearer"):
		tok := strings.TrimSpace(rest)
		return tok, tok != ""
	}
	return "", false
}

// authorizeAdmin returns nil when the request may proceed to the admin API.
func (s *Server) authorizeAdmin(r *http.Request) *apiError {
	cred, ok := adminCredential(r)
	if !ok {
		return errStatus(http.StatusUnauthorized, "missing admin token")
	}
	got := sha256.Sum256([]byte(cred))
	if subtle.ConstantTimeCompare(got[:], s.adminDigest[:]) == 1 {
		return nil
	}
	read, write, ok := s.store.adminScopes(cred, s.now())
	switch {
	case !ok:
		return errStatus(http.StatusUnauthorized, "invalid admin token")
	case write:
		return nil
	case read && r.Method == http.MethodGet:
		return nil
	case read:
		return errStatus(http.StatusForbidden, "the token's access policy has admin:read but %s needs admin:write", r.Method)
	}
	return errStatus(http.StatusForbidden, "the token's access policy has no admin scope")
}

// serveData answers the two data-path routes. Nothing is stored: the routes
// exist only to prove what a provisioned token authorizes.
func (s *Server) serveData(w http.ResponseWriter, r *http.Request) {
	var scope, method string
	var body any
	multi := false
	switch r.URL.Path {
	case "/otlp/v1/traces":
		scope, method, body = "traces:write", http.MethodPost, struct{}{}
	case "/api/search":
		scope, method, body, multi = "traces:read", http.MethodGet, map[string]any{"traces": []any{}}, true
	default:
		s.writeError(w, errStatus(http.StatusNotFound, "no route for %s", r.URL.Path))
		return
	}
	if r.Method != method {
		s.writeError(w, methodNotAllowed(w, r, method))
		return
	}
	user, secret, ok := r.BasicAuth()
	if !ok || user == "" || secret == "" {
		s.writeError(w, errStatus(http.StatusUnauthorized, "basic auth with tenant and token required"))
		return
	}
	tenants := []string{user}
	if multi {
		tenants = strings.Split(user, "|")
	}
	if status, msg := s.store.authorizeData(secret, tenants, scope, s.thisCluster, s.now()); status != 0 {
		s.writeError(w, errStatus(status, "%s", msg))
		return
	}
	writeJSON(w, http.StatusOK, 0, body)
}
