package adminapi

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// orphanTimeout bounds the clean-up after a lost token create. It runs on a
// context of its own, so that an apply interrupted mid-create still cleans
// up after itself.
const orphanTimeout = 30 * time.Second

// orphanClockSkew is how much earlier than the create's start, by this
// client's clock, the server may date a token the create made.
const orphanClockSkew = 10 * time.Minute

// orphanRecheck is the first wait before reading a lost token again after a
// "not found"; the waits double up to orphanRecheckMax (3.1 s in all).
const (
	orphanRecheck    = 100 * time.Millisecond
	orphanRecheckMax = 1600 * time.Millisecond
)

// settleLostToken decides what a token create that ended ambiguously left
// behind. cause is the create's own error; started is when the create
// began, by this client's clock.
func (c *Client) settleLostToken(ctx context.Context, want Token, started time.Time, cause error) error {
	ctx, cancel := context.WithTimeout(withoutBreaker(context.WithoutCancel(ctx)), orphanTimeout)
	defer cancel()
	got, err := c.GetToken(ctx, want.Name)
	// A replica behind the leader may not know a token the leader just
	// made: "not found" is believed only once it holds for a while.
	for wait := orphanRecheck; errors.Is(err, ErrNotFound) && wait <= orphanRecheckMax; wait *= 2 {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			got, err = c.GetToken(ctx, want.Name)
		}
		if ctx.Err() != nil {
			break
		}
	}
	switch {
	case errors.Is(err, ErrNotFound):
		var e *Error
		if errors.As(cause, &e) {
			e.Hint = fmt.Sprintf("The server still says token %q does not exist, so it was most likely not created; if it shows up later (a replica far behind), revoke it", want.Name)
		}
		return cause // nothing was committed
	case err != nil:
		var e *Error
		if errors.As(cause, &e) {
			e.Hint = fmt.Sprintf("The server may have created the token without its secret reaching this client, and reading it back failed (%s): if token %q is active, revoke it and create the token under a new name", describe(err), want.Name)
		}
		return cause
	case got.Status == StatusInactive || !tokenMatches(want, *got, started.Add(-orphanClockSkew)):
		// Inactive: no working credential is left (any other status may
		// still work). Different, or older than this create: someone
		// else's token, which is not this call's to revoke.
		return cause
	}
	op := tokens.op("create", want.Name)
	lost := "the server created the token, but the response carrying its secret was lost (" + describe(cause) + ")"
	if err := c.DeleteToken(ctx, want.Name, got.Version); err != nil {
		return &Error{Op: op, kind: ErrSecretLost,
			Message: fmt.Sprintf("%s, and revoking it failed (%s)", lost, describe(err)),
			Hint: fmt.Sprintf("Token %q is live and nobody has its secret: it must be revoked, with DELETE %s%s%s and If-Match: \"%d\" (or the admin UI); then create the token under a new name",
				want.Name, c.URL(), BasePath, tokens.item(want.Name), got.Version)}
	}
	return &Error{Op: op, kind: ErrSecretLost, also: ErrOrphanRevoked,
		Message: lost + "; the token was revoked, so that no working credential nobody holds is left behind",
		Hint:    "Create the token under a new name (with name_prefix, re-apply; with name, choose another)"}
}

// tokenMatches reports whether got is the token want asked for, as far as
// its fields tell: a token under the name with other fields, or created
// before notBefore, is someone else's. A creation time the client cannot
// read does not count against it.
func tokenMatches(want, got Token, notBefore time.Time) bool {
	if created, err := time.Parse(time.RFC3339, got.CreatedAt); err == nil && created.Before(notBefore) {
		return false
	}
	return got.AccessPolicy == want.AccessPolicy &&
		(want.DisplayName == "" || got.DisplayName == want.DisplayName) &&
		sameInstant(want.Expiration, got.Expiration)
}

// successStatus reports whether err came with a 2xx status: the server did
// what was asked, and only its answer could not be read.
func successStatus(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode >= 200 && e.StatusCode <= 299
}

// sameInstant compares RFC 3339 times to the second, which is what the
// server keeps, in whatever zone each is written.
func sameInstant(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	ta, errA := time.Parse(time.RFC3339, a)
	tb, errB := time.Parse(time.RFC3339, b)
	if errA != nil || errB != nil {
		return a == b
	}
	return ta.Truncate(time.Second).Equal(tb.Truncate(time.Second))
}

// describe says what went wrong in err without its operation and hint,
// for an error that quotes it. Its text is scrubbed already: every *Error
// the client makes is.
func describe(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if errors.Is(e, ErrNameTaken) && e.StatusCode != 0 {
		return "a retry found the name taken"
	}
	d := *e
	d.Op, d.Hint = "", ""
	return trimOp(d.Error())
}

func trimOp(s string) string {
	if len(s) >= 2 && s[:2] == ": " {
		return s[2:]
	}
	return s
}
