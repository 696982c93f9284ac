package adminapi

import (
	"errors"
	"fmt"
	"strings"
)

// The name rules of ADMIN-API.md. A name is the object's identity and goes
// into the URL path, so the client checks it before sending anything: a
// name the server would refuse costs a round trip at best, and "." or ".."
// would reach the server (or a proxy in front of it) as a dot-segment that
// names a different resource.

// ValidTenantName reports whether name is a valid tenant name: 3 to 64
// characters of a-z, 0-9, "_" and "-". The error says what is wrong.
func ValidTenantName(name string) error { return checkName(name, 3, 64) }

// ValidObjectName reports whether name is a valid access policy or token
// name: 1 to 128 characters of a-z, 0-9, "_" and "-".
func ValidObjectName(name string) error { return checkName(name, 1, 128) }

// ValidClusterName reports whether name can name a cluster in a URL path.
// Clusters are created by the deployment, not through the API, so only what
// would break the path is refused: an empty name, "/", "." and "..".
func ValidClusterName(name string) error {
	switch {
	case name == "":
		return errors.New("name must not be empty")
	case name == "." || name == "..":
		return fmt.Errorf("name must not be %q", name)
	case strings.Contains(name, "/"):
		return errors.New(`name must not contain "/"`)
	}
	return nil
}

// checkName checks the characters first: once they are all ASCII, the
// length in bytes is the length in characters the message talks about.
func checkName(name string, minLen, maxLen int) error {
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return fmt.Errorf(`name may only contain lower-case letters a-z, digits, "_" and "-", not %q`, r)
		}
	}
	if n := len(name); n < minLen || n > maxLen {
		return fmt.Errorf("name must be %d to %d characters long, not %d", minLen, maxLen, n)
	}
	return nil
}
