package adminapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// sensitiveKeys are JSON keys whose values never reach a log record.
var sensitiveKeys = map[string]bool{"token": true, "secret": true, "password": true}

const redacted = "(sensitive)"

// logRequest emits one debug record per operation: method, URL, headers
// with the credential removed, bodies with secrets removed, status, how many
// attempts it took and how long.
func (c *Client) logRequest(ctx context.Context, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte, attempts int, start time.Time, err error) {
	if c.log == nil {
		return
	}
	fields := map[string]any{
		"method":          req.Method,
		"url":             req.URL.String(),
		"attempts":        attempts,
		"duration_ms":     time.Since(start).Milliseconds(),
		"request_headers": redactHeaders(req.Header),
	}
	if len(reqBody) > 0 {
		fields["request_body"] = c.scrub(redactBody(reqBody))
	}
	if resp != nil {
		fields["status"] = resp.StatusCode
		fields["response_headers"] = redactHeaders(resp.Header)
		if len(respBody) > 0 {
			fields["response_body"] = c.scrub(redactBody(respBody))
		}
	}
	if err != nil {
		fields["error"] = c.scrub(err.Error())
	}
	c.log(ctx, "admin API request", fields)
}

func redactHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie":
			out[k] = redacted
		default:
			if len(v) > 0 {
				out[k] = v[0]
			}
		}
	}
	return out
}

// redactBody returns a JSON body with every sensitive key's value replaced.
// A body that is not JSON is summarised by its length: it might be anything.
func redactBody(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "(non-JSON body, " + strconv.Itoa(len(b)) + " bytes)"
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return "(body not shown)"
	}
	return string(out)
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if sensitiveKeys[k] {
				if s, ok := val.(string); ok && s == "" {
					continue
				}
				t[k] = redacted
				continue
			}
			t[k] = redactValue(val)
		}
	case []any:
		for i := range t {
			t[i] = redactValue(t[i])
		}
	}
	return v
}
