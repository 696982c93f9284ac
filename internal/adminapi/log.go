package adminapi

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sensitiveKeys are JSON keys whose values never reach a log record.
var sensitiveKeys = []string{"token", "secret", "password"}

// isSensitiveKey tells whether a JSON object key names a secret. It
// matches keys the way encoding/json matches them to struct fields:
// without regard to case, by Unicode simple folding (so "TOKEN", and
// "toKen" with the Kelvin sign, are "token"), since a key the decoder
// would take as the secret must never be logged.
func isSensitiveKey(k string) bool {
	for _, s := range sensitiveKeys {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

const redacted = "(sensitive)"

// logRequest emits one debug record per operation: method, URL, headers
// with the credential removed, bodies with secrets removed, status, how many
// attempts it took and how long.
func (c *Client) logRequest(ctx context.Context, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte, attempts int, start time.Time, err error) {
	if c.log == nil {
		return
	}
	fields := map[string]any{
		"method":          c.scrub(req.Method),
		"url":             c.scrub(req.URL.String()),
		"attempts":        attempts,
		"duration_ms":     time.Since(start).Milliseconds(),
		"request_headers": c.redactHeaders(req.Header),
	}
	if len(reqBody) > 0 {
		fields["request_body"] = c.scrub(redactBody(reqBody, c.scrub))
	}
	if resp != nil {
		fields["status"] = resp.StatusCode
		fields["response_headers"] = c.redactHeaders(resp.Header)
		if len(respBody) > 0 {
			fields["response_body"] = c.scrub(redactBody(respBody, c.scrub))
		}
	}
	if err != nil {
		fields["error"] = c.scrub(err.Error())
	}
	c.log(ctx, "admin API request", fields)
}

// redactHeaders hides credential headers by name, and scrubs every other
// value (all of them, not only the first): a server or proxy may echo the
// Authorization header back under any name.
func (c *Client) redactHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie":
			out[c.scrub(k)] = c.scrub(redacted) // even the marker: a token could be "sensitive"
		default:
			out[c.scrub(k)] = c.scrub(strings.Join(v, ", "))
		}
	}
	return out
}

// redactBody returns a JSON body with every sensitive key's value replaced
// and every other string passed through scrub after decoding, since JSON
// escapes ("\u0026") would otherwise hide a secret from a scrub of the
// re-encoded text. A body that is not JSON is summarised by its length: it
// might be anything.
func redactBody(b []byte, scrub func(string) string) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "(non-JSON body, " + strconv.Itoa(len(b)) + " bytes)"
	}
	out, err := json.Marshal(redactValue(v, scrub))
	if err != nil {
		return "(body not shown)"
	}
	return string(out)
}

func redactValue(v any, scrub func(string) string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if isSensitiveKey(k) {
				if s, ok := val.(string); ok && s == "" {
					out[k] = s
					continue
				}
				out[k] = redacted
				continue
			}
			out[scrub(k)] = redactValue(val, scrub)
		}
		return out
	case []any:
		for i := range t {
			t[i] = redactValue(t[i], scrub)
		}
	case string:
		return scrub(t)
	}
	return v
}

// scrubbed replaces a secret found in text.
const scrubbed = "(redacted)"

// secretForms lists the ways the admin token can appear in text a server or
// a library echoes: as it is, as the Basic credential, and URL-escaped
// either of those ways (query, path segment, whole path; upper- or
// lower-case hex). Longest first, so that a shorter form never leaves part
// of a longer one behind.
func secretForms(token string) []string {
	if token == "" {
		return nil
	}
	var forms []string
	for _, s := range []string{token, base64.StdEncoding.EncodeToString([]byte(":" + token))} {
		for _, f := range []string{s, url.QueryEscape(s), url.PathEscape(s), (&url.URL{Path: s}).EscapedPath()} {
			forms = append(forms, f, lowerHex(f))
		}
	}
	slices.SortFunc(forms, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(forms)
}

// lowerHex rewrites the hex digits of %XX escapes in lower case, as some
// encoders write them.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = toLowerASCII(b[i+1]), toLowerASCII(b[i+2])
		}
	}
	return string(b)
}

func toLowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// scrub removes the admin token, in every form secretForms lists, from text
// that came from elsewhere, should any server or library ever echo it.
func (c *Client) scrub(s string) string {
	for _, f := range c.secrets {
		s = strings.ReplaceAll(s, f, scrubbed)
	}
	// A token that overlaps the marker (or that the replacements spliced
	// together anew) would survive; deleting it until none is left ends,
	// since every pass shortens s.
	for found := true; found; {
		found = false
		for _, f := range c.secrets {
			if strings.Contains(s, f) {
				s, found = strings.ReplaceAll(s, f, ""), true
			}
		}
	}
	return s
}
