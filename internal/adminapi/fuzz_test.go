package adminapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/; findings are kept
// there as seeds.

func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := retryAfter(v, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("retryAfter(%q) = %v, outside [0, %v]", v, d, maxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("retryAfter(%q) = %v without a value", v, d)
		}
		if s := strings.TrimSpace(v); allDigits(s) && !ok {
			t.Fatalf("retryAfter(%q): delta-seconds not read", v)
		}
		if strings.HasPrefix(strings.TrimSpace(v), "-") && ok {
			t.Fatalf("retryAfter(%q): a negative value is read", v)
		}
		for _, status := range []int{429, 503} {
			resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {v}}}
			if w := backoff(time.Millisecond, time.Second, 1, resp); w < 0 || w > maxRetryAfter {
				t.Fatalf("backoff with Retry-After %q = %v", v, w)
			}
		}
	})
}

func FuzzETagVersion(f *testing.F) {
	f.Fuzz(func(t *testing.T, etag string) {
		r := &response{header: http.Header{"Etag": {etag}}}
		v := r.version()
		if v < 0 {
			t.Fatalf("ETag %q gives version %d", etag, v)
		}
		if v == 0 {
			return
		}
		// A version is read only from digits, and what is sent back as
		// If-Match reads as the same version.
		inner := strings.Trim(strings.TrimPrefix(strings.TrimSpace(etag), "W/"), `"`)
		if !allDigits(inner) {
			t.Fatalf("ETag %q gives version %d from a non-number", etag, v)
		}
		back := &response{header: http.Header{"Etag": {strconv.Quote(strconv.FormatInt(v, 10))}}}
		if back.version() != v {
			t.Fatalf("version %d does not survive If-Match: %d", v, back.version())
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 300 || status > 599 {
			status = 300 + (status%300+300)%300
		}
		e := decodeError("read tenant \"x\"", status, body)
		if e.StatusCode != status || !errors.Is(e, kindOf(status)) {
			t.Fatalf("status %d: %+v", status, e)
		}
		if e.Message == "" {
			t.Fatal("empty message")
		}
		if n := utf8.RuneCountInString(e.Message); n > maxMessage+1 {
			t.Fatalf("message of %d characters, over the bound %d", n, maxMessage)
		}
		if !utf8.ValidString(e.Message) || !utf8.ValidString(e.Field) {
			t.Fatalf("invalid UTF-8 in %q / %q", e.Message, e.Field)
		}
		for _, s := range []string{e.Message, e.Field} {
			if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }); i >= 0 {
				t.Fatalf("control character in %q at %d (a terminal would act on it)", s, i)
			}
		}
		if !strings.Contains(e.Error(), e.Message) {
			t.Fatal("the message is not in the error text")
		}
	})
}

// collectStrings returns every string in a log record, header names too.
func collectStrings(v any, out *[]string) {
	switch t := v.(type) {
	case string:
		*out = append(*out, t)
	case map[string]string:
		for k, s := range t {
			*out = append(*out, k, s)
		}
	case map[string]any:
		for _, x := range t {
			collectStrings(x, out)
		}
	}
}

// spellKey spells a sensitive JSON key the way a server might: each bit of
// spelling upper-cases one letter, and the high bits replace "k" by the
// Kelvin sign and "s" by the long s, both of which encoding/json folds to
// the ASCII letter when it matches a key to a field.
func spellKey(spelling uint16) string {
	base := []string{"token", "secret", "password"}[int(spelling>>12)%3]
	var b strings.Builder
	for i, r := range base {
		switch {
		case r == 'k' && spelling&(1<<10) != 0:
			r = '\u212a'
		case r == 's' && spelling&(1<<11) != 0:
			r = '\u017f'
		case spelling&(1<<i) != 0:
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// shapeBody puts value under key in a JSON body of the given shape: the
// low two bits nest it that deep, each level an array or an object as the
// next bits say, beside other members that must stay readable.
func shapeBody(key, value, note string, shape uint8) []byte {
	var v any = map[string]any{key: value, "name": "team-a-otel"}
	for level := range int(shape % 4) {
		if shape&(4<<level) != 0 {
			v = []any{v, "beside"}
		} else {
			v = map[string]any{"items": v, "status": "active"}
		}
	}
	b, _ := json.Marshal(map[string]any{"data": v, "note": note})
	return b
}

func FuzzLogRedaction(f *testing.F) {
	f.Fuzz(func(t *testing.T, token string, body []byte, header string, at uint8, secret string, spelling uint16, shape uint8) {
		token = strings.TrimSpace(token)
		if token == "" {
			t.Skip()
		}
		var records []map[string]any
		c := &Client{secrets: secretForms(token), log: func(_ context.Context, _ string, f map[string]any) { records = append(records, f) }}
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+token))
		cred := c.auth[len("Basic "):]
		forms := []string{token, url.QueryEscape(token), url.PathEscape(token), cred}

		// Plant the token, in its several forms, wherever a server could
		// echo it: body, header values, the URL.
		plant := func(s string, form string) string {
			i := int(at) % (len(s) + 1)
			return s[:i] + form + s[i:]
		}
		respBody := []byte(plant(string(body), forms[int(at)%len(forms)]))
		reqURL := &url.URL{Scheme: "http", Host: "x.svc", Path: "/admin/api/v3/tokens/" + token, RawQuery: url.Values{"q": {token}}.Encode()}
		req := &http.Request{Method: http.MethodPost, URL: reqURL, Header: http.Header{
			"Authorization": {c.auth},
			"X-Header":      {plant(header, token)},
		}}
		resp := &http.Response{StatusCode: 500, Header: http.Header{
			"X-Echo":           {c.auth},
			"X-Token":          {plant(header, token), plant(header, url.QueryEscape(token))},
			"X-Cred":           {url.QueryEscape(cred)},
			"Www-Authenticate": {"Basic realm=" + token},
		}}
		c.logRequest(context.Background(), req, []byte(plant(string(body), token)), resp, respBody, 1, time.Now(), errors.New("failed: "+token))
		if len(records) != 1 {
			t.Fatalf("%d records", len(records))
		}
		var all []string
		for _, v := range records[0] {
			collectStrings(v, &all)
		}
		for _, s := range all {
			for _, form := range forms {
				if strings.Contains(s, form) {
					t.Fatalf("the token survives as %q in %q", form, s)
				}
			}
		}

		// A token secret in a create response, under any spelling of a
		// sensitive key and at any depth, never reaches the record; what
		// is beside it does.
		secret = "zq" + secret
		const note = "visible-note-7Q"
		key := spellKey(spelling)
		records = nil
		c.logRequest(context.Background(), req, nil, &http.Response{StatusCode: 201, Header: http.Header{}}, shapeBody(key, secret, note, shape), 1, time.Now(), nil)
		logged, _ := records[0]["response_body"].(string)
		escaped, _ := json.Marshal(secret)
		for _, form := range []string{secret, string(escaped[1 : len(escaped)-1])} {
			if strings.Contains(logged, form) {
				t.Fatalf("a token secret under %q survives as %q in %q", key, form, logged)
			}
		}
		// The note is scrubbed only if the admin token could be part of it.
		if !strings.ContainsAny(token, `{}":,\`) && !strings.Contains(note, token) && !strings.Contains(logged, note) {
			t.Fatalf("the record lost what is not secret: %q", logged)
		}
		// Keys not sensitive are kept, however close to one they are.
		records = nil
		near := strings.TrimSuffix(key, string([]rune(key)[len([]rune(key))-1:])) + "_id"
		c.logRequest(context.Background(), req, nil, &http.Response{StatusCode: 200, Header: http.Header{}}, shapeBody(near, note, "n", shape), 1, time.Now(), nil)
		if logged, _ := records[0]["response_body"].(string); !strings.ContainsAny(token, `{}":,\_`) && !strings.Contains(note, token) && !strings.Contains(logged, note) {
			t.Fatalf("a value under %q, which is not a sensitive key, was hidden: %q", near, logged)
		}
	})
}

func FuzzAllowedEndpoints(f *testing.F) {
	f.Fuzz(func(t *testing.T, entries string, https bool) {
		scheme := "http"
		if https {
			scheme = "https"
		}
		list := strings.Split(entries, ",")
		g, err := newGuard(scheme, list, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "allowed_endpoints: ") {
				t.Fatalf("error %q does not name allowed_endpoints", err)
			}
			return
		}
		if !g.restricted() {
			t.Fatalf("entries %q accepted but nothing restricted", entries)
		}
		for _, s := range g.suffixes {
			if strings.Trim(s, ".") == "" || strings.ContainsFunc(s, func(r rune) bool {
				return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '.' && r != '-' && r != '_'
			}) {
				t.Fatalf("suffix %q accepted", s)
			}
			host := strings.TrimPrefix(s, ".")
			if strings.HasPrefix(s, ".") {
				host = "admin" + s
			}
			if !g.nameAllowed(host) || !g.nameAllowed(strings.ToUpper(host)+".") {
				t.Fatalf("suffix %q does not admit %q", s, host)
			}
		}
		for _, p := range g.prefixes {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" {
				t.Fatalf("prefix %v accepted as is", p)
			}
			// Every address inside an allowed CIDR may receive the token,
			// however it is written.
			for _, a := range []netip.Addr{p.Addr(), netip.AddrFrom16(p.Addr().As16())} {
				if err := g.checkAddr("admin.example", a); err != nil {
					t.Fatalf("address %v inside allowed %v refused: %v", a, p, err)
				}
			}
		}

		// And the other way: what no entry names is refused. A name no
		// suffix ends with, at an address no CIDR holds, never receives
		// the token; nor, over http, a public or link-local address
		// outside the CIDRs, whatever the name.
		inPrefixes := func(a netip.Addr) bool {
			for _, p := range g.prefixes {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
		const stranger = "stranger.zz-not-listed"
		for _, s := range g.suffixes {
			if strings.HasSuffix(stranger, s) || strings.HasSuffix(stranger, "."+s) {
				t.Skip("a suffix names the probe host")
			}
		}
		if g.nameAllowed(stranger) {
			t.Fatalf("entries %q admit %q, which none of them names", entries, stranger)
		}
		for _, a := range []netip.Addr{netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::7"),
			netip.MustParseAddr("10.9.8.7"), netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")} {
			if inPrefixes(a) {
				continue
			}
			if err := g.checkAddr(stranger, a); !errors.Is(err, ErrEndpointRefused) {
				t.Fatalf("entries %q: %s at %v admitted (%v)", entries, stranger, a, err)
			}
			if !a.IsPrivate() || a.IsLinkLocalUnicast() || a == netip.MustParseAddr("fd00:ec2::254") {
				for _, s := range g.suffixes {
					host := "admin" + s
					if !strings.HasPrefix(s, ".") {
						host = "admin." + s
					}
					if err := g.checkAddr(host, a); https == (err != nil) {
						t.Fatalf("entries %q, %s: %s at %v: %v", entries, scheme, host, a, err)
					}
				}
			}
		}
		// Addresses spelled as names are refused, whatever is listed.
		for _, host := range []string{"0x7f.0.0.1", "010.0.0.1", "127.1", "2130706433"} {
			if done, err := g.checkStatic(host); !done || !errors.Is(err, ErrEndpointRefused) {
				t.Fatalf("entries %q admit the address spelling %q", entries, host)
			}
		}
	})
}

func FuzzBaseURL(f *testing.F) {
	const secret = "S3cr3tV4lue"
	f.Fuzz(func(t *testing.T, raw string) {
		red := RedactURL(raw) // must not panic whatever raw is
		u, err := parseBaseURL(raw)
		if err == nil {
			if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
				u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(u.EscapedPath(), "/") {
				t.Fatalf("parseBaseURL(%q) accepted %#v", raw, u)
			}
			// The base path may be given with or without /admin/api/v3.
			if again, err := parseBaseURL(u.String() + BasePath); err != nil || again.String() != u.String() {
				t.Fatalf("parseBaseURL(%q) = %q, but with %s appended: %v, %v", raw, u, BasePath, again, err)
			}
			if RedactURL(u.String()) != u.String() {
				t.Fatalf("RedactURL changes the clean URL %q into %q", u.String(), RedactURL(u.String()))
			}
		}
		_ = red
		// Plant a credential as user information, a query and a fragment:
		// it must never show, in an error or through RedactURL.
		var planted []string
		if i := strings.Index(raw, "://"); i >= 0 && isScheme(raw[:i]) {
			planted = append(planted, raw[:i+3]+"user:"+secret+"@"+raw[i+3:])
		}
		planted = append(planted, raw+"?token="+secret, raw+"#"+secret)
		for _, p := range planted {
			if strings.Contains(raw, secret) {
				break
			}
			if strings.Contains(RedactURL(p), secret) {
				t.Fatalf("RedactURL(%q) = %q", p, RedactURL(p))
			}
			if _, err := parseBaseURL(p); err == nil {
				t.Fatalf("parseBaseURL(%q) accepted a credential", p)
			} else if strings.Contains(err.Error(), secret) {
				t.Fatalf("parseBaseURL(%q): %v", p, err)
			}
		}
	})
}

// isScheme reports whether s is a URL scheme, so that what follows "://"
// is the authority, where user information goes.
func isScheme(s string) bool {
	for i, r := range s {
		letter := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
		later := i > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.')
		if !letter && !later {
			return false
		}
	}
	return s != ""
}
