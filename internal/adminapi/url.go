package adminapi

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// redactedPart replaces credentials, queries and fragments in a URL shown
// to the operator.
const redactedPart = "xxxxx"

// parseBaseURL checks the configured admin API URL. Its errors show the URL
// through RedactURL only: an operator who pasted http://user:token@host or
// ?token=... must not find the token in a plan's output or a CI log.
func parseBaseURL(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("url: the admin API URL is required (such as http://tempo-admin-api.tempo.svc:3100); set url or TEMPO_ADMIN_URL")
	}
	shown := RedactURL(raw)
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("url: %q is not a valid URL: %s", shown, parseProblem(err))
	}
	if u.User != nil {
		return nil, fmt.Errorf("url: %q carries credentials; put the admin token in token or token_file instead", shown)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url: %q must start with http:// or https://", shown)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("url: %q has no host", shown)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("url: %q must not have a query or fragment", shown)
	}
	// Trimmed in escaped form, so that an escaped "/" in a gateway prefix
	// stays escaped; every trailing "/", or requests would go to
	// //admin/api/v3.
	escaped := strings.TrimRight(strings.TrimSuffix(strings.TrimRight(u.EscapedPath(), "/"), BasePath), "/")
	if u.Path, err = url.PathUnescape(escaped); err != nil {
		return nil, fmt.Errorf("url: the path of %q is not valid: %s", shown, parseProblem(err))
	}
	u.RawPath = escaped
	return u, nil
}

// parseProblem says what url.Parse disliked without repeating the input:
// url.Error's text is the whole raw URL, and the inner errors quote pieces
// of it (a port, an escape) that may be part of a password.
func parseProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := strings.TrimPrefix(err.Error(), "net/url: ")
	if i, j := strings.IndexByte(msg, '"'), strings.LastIndexByte(msg, '"'); i >= 0 && j > i {
		msg = strings.Join(strings.Fields(msg[:i]+" "+msg[j+1:]), " ")
	}
	return msg
}

// RedactURL returns raw fit to show in a message: user information (a
// password, a token) becomes "xxxxx@", and a query or fragment becomes
// "?xxxxx" or "#xxxxx". It works on input url.Parse refuses, by taking the
// text up to the last "@" as user information, and over-redacts rather than
// guess there.
func RedactURL(raw string) string {
	s := strings.TrimSpace(raw)
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Hostname() == "" {
		// Without an authority url.Parse puts "user:pw@host" into the
		// path (http:/a://user:pw@host); the text rules catch it.
		return redactURLText(s)
	}
	if u.User != nil {
		u.User = url.User(redactedPart)
	}
	if u.RawQuery != "" {
		u.RawQuery, u.ForceQuery = redactedPart, false
	}
	if u.Fragment != "" || u.RawFragment != "" {
		u.Fragment, u.RawFragment = redactedPart, ""
	}
	return u.String()
}

// redactURLText redacts a URL that does not parse. The user information is
// taken to end at the last "@" after the scheme, even past a "?" or "#", so
// that a password holding one of those is still removed.
func redactURLText(s string) string {
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + len("://")
	}
	if j := strings.LastIndexByte(s[start:], '@'); j >= 0 {
		s = s[:start] + redactedPart + "@" + s[start+j+1:]
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i+1] + redactedPart
	}
	return s
}
