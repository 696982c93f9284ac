package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// Sentinel errors, matched with errors.Is against the *Error values the
// client returns.
var (
	ErrNotFound             = errors.New("not found")
	ErrNameTaken            = errors.New("name already taken")
	ErrVersionConflict      = errors.New("changed by someone else")
	ErrPreconditionRequired = errors.New("If-Match required")
	ErrValidation           = errors.New("invalid request")
	ErrUnauthorized         = errors.New("unauthorized")
	ErrForbidden            = errors.New("forbidden")
	ErrMethodNotAllowed     = errors.New("operation not supported")
	ErrRateLimited          = errors.New("rate limited")
	ErrServer               = errors.New("server error")
	ErrUnexpected           = errors.New("unexpected response")
	ErrConnection           = errors.New("cannot reach the admin API")
	// ErrInterrupted: the caller stopped waiting (the CLI's interrupt
	// cancels the provider's calls) before an answer came.
	ErrInterrupted = errors.New("interrupted")

	// ErrSecretLost is returned by CreateToken when the server committed a
	// token but the response carrying its secret never arrived. The secret
	// cannot be read again, so the token must be replaced under a new name.
	ErrSecretLost = errors.New("token secret lost")

	// ErrOrphanRevoked is returned by CreateToken, together with
	// ErrSecretLost, when the server committed a token whose secret never
	// reached the client, and the client revoked that token so that no
	// working credential nobody holds is left behind.
	ErrOrphanRevoked = errors.New("orphaned token revoked")

	// ErrEndpointRefused is returned, before any byte is sent, when the
	// network-boundary guard refuses an endpoint.
	ErrEndpointRefused = errors.New("endpoint refused")
)

// Error is a failed admin API operation. Its message names the operation and
// the object, the HTTP status, and the server's own message.
type Error struct {
	// Op is the operation, such as `create tenant "team-a"`.
	Op string
	// StatusCode is the HTTP status, or 0 when no response arrived.
	StatusCode int
	// Message is the server's message, read from a JSON or a text body.
	Message string
	// Field is the request field the server complained about, when it said.
	Field string
	// Hint says what the caller can do about it, when there is something.
	Hint string

	kind error
	also error // a second sentinel the error matches, or nil
	err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.kind.Error())
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.err != nil {
		b.WriteString(": ")
		b.WriteString(e.err.Error())
	}
	if e.Hint != "" {
		b.WriteString(". ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) and the like work. Some errors
// match two sentinels, such as ErrSecretLost and ErrOrphanRevoked.
func (e *Error) Is(target error) bool {
	return target == e.kind || (e.also != nil && target == e.also)
}

// Unwrap returns the transport error behind the failure, if any.
func (e *Error) Unwrap() error { return e.err }

// kindOf maps an HTTP status to the sentinel error it means.
func kindOf(status int) error {
	switch {
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusConflict:
		return ErrNameTaken
	case status == http.StatusPreconditionFailed:
		return ErrVersionConflict
	case status == http.StatusPreconditionRequired:
		return ErrPreconditionRequired
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return ErrValidation
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusMethodNotAllowed:
		return ErrMethodNotAllowed
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status >= 500:
		return ErrServer
	default:
		return ErrUnexpected
	}
}

// hintFor says what to do about an error kind, where there is a general
// answer; operations add more specific hints.
func hintFor(kind error) string {
	switch {
	case errors.Is(kind, ErrUnauthorized):
		return "Check the admin token (token, token_file or TEMPO_ADMIN_TOKEN)"
	case errors.Is(kind, ErrForbidden):
		return "The token is valid but its access policy lacks the admin:read or admin:write scope this needs"
	case errors.Is(kind, ErrServer), errors.Is(kind, ErrRateLimited):
		return "The request was retried; try again later or raise max_retries"
	}
	return ""
}

// maxMessage bounds how much of a server body ends up in an error, so that a
// proxy's HTML error page does not flood a plan.
const maxMessage = 512

// printable makes server text safe to show in a terminal: invalid UTF-8
// becomes U+FFFD, and control characters other than newline and tab (an
// escape sequence could recolour or rewrite the operator's screen) become
// spaces.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return ' '
		}
		return r
	}, s)
}

// decodeError turns a non-2xx response into an *Error. The server may answer
// with {"error": "..."} (the emulator), {"message": "..."}, or plain text.
func decodeError(op string, status int, body []byte) *Error {
	e := &Error{Op: op, StatusCode: status, kind: kindOf(status)}
	var j struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Field   string `json:"field"`
	}
	if json.Unmarshal(body, &j) == nil && (j.Error != "" || j.Message != "") {
		e.Message = j.Error
		if e.Message == "" {
			e.Message = j.Message
		}
		e.Field = j.Field
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	e.Message, e.Field = printable(e.Message), printable(e.Field)
	if r := []rune(e.Message); len(r) > maxMessage {
		e.Message = string(r[:maxMessage]) + "…"
	}
	if e.Field == "" && errors.Is(e.kind, ErrValidation) {
		// Servers that do not send a field usually start the message with it.
		if f, _, ok := strings.Cut(e.Message, ":"); ok && !strings.ContainsAny(f, " \t") {
			e.Field = f
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if e.Message == "" {
		e.Message = "the server gave no reason" // a status net/http has no text for
	}
	e.Hint = hintFor(e.kind)
	return e
}
