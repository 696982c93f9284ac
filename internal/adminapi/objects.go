package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// kind describes one collection of the admin API, so that the four object
// types share one implementation of list, get, create, update and delete.
type kind struct {
	noun  string             // "tenant", used in error messages
	path  string             // "/tenants"
	valid func(string) error // the name rule
}

var (
	clusters       = kind{noun: "cluster", path: "/clusters", valid: ValidClusterName}
	tenants        = kind{noun: "tenant", path: "/tenants", valid: ValidTenantName}
	accessPolicies = kind{noun: "access policy", path: "/accesspolicies", valid: ValidObjectName}
	tokens         = kind{noun: "token", path: "/tokens", valid: ValidObjectName}
)

// item is the escaped path of one object; do() unescapes it once for
// url.URL.Path and keeps this form as RawPath, so it is escaped exactly once
// on the wire.
func (k kind) item(name string) string { return k.path + "/" + url.PathEscape(name) }

// checkName refuses, before anything is sent, a name the contract forbids.
func (k kind) checkName(verb, name string) error {
	if err := k.valid(name); err != nil {
		return &Error{Op: k.op(verb, name), kind: ErrValidation, Field: "name", Message: err.Error()}
	}
	return nil
}

func (k kind) op(verb, name string) string {
	if name == "" {
		return verb + " " + k.noun + "s"
	}
	return fmt.Sprintf("%s %s %q", verb, k.noun, name)
}

func listObjects[T any](ctx context.Context, c *Client, k kind, includeInactive bool) ([]T, error) {
	op := k.op("list", "")
	var q url.Values
	if includeInactive {
		q = url.Values{"include-non-active": {"true"}}
	}
	r, err := c.do(ctx, op, http.MethodGet, k.path, q, nil, 0)
	if err != nil {
		return nil, err
	}
	var l list[T]
	if err := decode(op, r, &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

func getObject[T any](ctx context.Context, c *Client, k kind, name string) (*T, int64, error) {
	if err := k.checkName("read", name); err != nil {
		return nil, 0, err
	}
	op := k.op("read", name)
	r, err := c.do(ctx, op, http.MethodGet, k.item(name), nil, nil, 0)
	if err != nil {
		return nil, 0, err
	}
	var out T
	if err := decode(op, r, &out); err != nil {
		return nil, 0, err
	}
	return &out, r.version(), nil
}

// createObject POSTs obj. It also reports whether some attempt ended
// ambiguously (the server may have committed it without the answer
// arriving), which the lost-response rule needs: only then can a 409 be
// this very call's object.
func createObject[T any](ctx context.Context, c *Client, k kind, name string, obj *T) (*T, int64, bool, error) {
	if err := k.checkName("create", name); err != nil {
		return nil, 0, false, err
	}
	op := k.op("create", name)
	r, err := c.do(ctx, op, http.MethodPost, k.path, nil, obj, 0)
	ambiguous := r != nil && r.ambiguous
	if err != nil {
		var e *Error
		if errors.As(err, &e) && errors.Is(err, ErrNameTaken) {
			e.Hint = fmt.Sprintf("A %s named %q already exists (names are never freed, even when inactive)", k.noun, name)
		}
		return nil, 0, ambiguous, err
	}
	out := new(T)
	if len(r.body) == 0 {
		return nil, 0, ambiguous, nil // tolerated: a server that answers a create without a body
	}
	if err := decode(op, r, out); err != nil {
		return nil, 0, ambiguous, err
	}
	return out, r.version(), ambiguous, nil
}

// putObject PUTs obj with If-Match version.
func putObject[T any](ctx context.Context, c *Client, k kind, name string, obj *T, version int64) (*T, int64, error) {
	op := k.op("update", name)
	r, err := c.do(ctx, op, http.MethodPut, k.item(name), nil, obj, version)
	if err != nil {
		return nil, 0, asVersionConflict(err)
	}
	out := new(T)
	if len(r.body) == 0 {
		return nil, r.version(), nil
	}
	if err := decode(op, r, out); err != nil {
		return nil, 0, err
	}
	return out, r.version(), nil
}

// updateObject applies desired over the object with the given version. When
// someone else changed the object in between (412, or 409 from servers that
// say so), it re-reads the object, re-applies desired once on the fresh
// version, and then gives up with a clear message.
func updateObject[T any](ctx context.Context, c *Client, k kind, name string, desired *T, version int64) (*T, int64, error) {
	if err := k.checkName("update", name); err != nil {
		return nil, 0, err
	}
	if version == 0 {
		_, v, err := getObject[T](ctx, c, k, name)
		if err != nil {
			return nil, 0, err
		}
		version = v
	}
	out, v, err := putObject(ctx, c, k, name, desired, version)
	if isConcurrentChange(err) {
		_, fresh, rerr := getObject[T](ctx, c, k, name)
		if rerr != nil {
			return nil, 0, rerr
		}
		out, v, err = putObject(ctx, c, k, name, desired, fresh)
		if isConcurrentChange(err) {
			var e *Error
			errors.As(err, &e)
			e.Hint = fmt.Sprintf("The %s kept changing while it was being updated (it was re-read and re-applied once); another process is writing it: stop that process or run again", k.noun)
			return nil, 0, e
		}
	}
	if err != nil {
		return nil, 0, err
	}
	if out == nil || v == 0 {
		// Tolerated: a server that answers without the object or its ETag.
		return getObject[T](ctx, c, k, name)
	}
	return out, v, nil
}

// asVersionConflict reads a 409 to a PUT or DELETE as the stale If-Match
// it is: some servers answer a stale version with 409 instead of 412, and
// on an existing object "name already taken" would mislead.
func asVersionConflict(err error) error {
	var e *Error
	if errors.As(err, &e) && errors.Is(e.kind, ErrNameTaken) {
		e.kind, e.Hint = ErrVersionConflict, ""
	}
	return err
}

func isConcurrentChange(err error) bool { return errors.Is(err, ErrVersionConflict) }

// deleteObject soft-deletes an object. A 404 means it is already gone, which
// is what the caller wanted. Version zero reads the current version first.
// When someone else changed the object since it was read (412, or 409 from
// servers that say so), deleting is still wanted: it re-reads the version
// and deletes once more, then gives up with a clear message.
func deleteObject[T any](ctx context.Context, c *Client, k kind, name string, version int64) error {
	if err := k.checkName("delete", name); err != nil {
		return err
	}
	if version == 0 {
		_, v, err := getObject[T](ctx, c, k, name)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		version = v
	}
	err := deleteOnce(ctx, c, k, name, version)
	if isConcurrentChange(err) {
		_, v, rerr := getObject[T](ctx, c, k, name)
		if errors.Is(rerr, ErrNotFound) {
			return nil
		}
		if rerr != nil {
			return rerr
		}
		err = deleteOnce(ctx, c, k, name, v)
		if isConcurrentChange(err) {
			var e *Error
			errors.As(err, &e)
			e.Hint = fmt.Sprintf("The %s kept changing while it was being deleted (it was re-read and deleted again once); another process is writing it: stop that process or run again", k.noun)
			return e
		}
	}
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func deleteOnce(ctx context.Context, c *Client, k kind, name string, version int64) error {
	_, err := c.do(ctx, k.op("delete", name), http.MethodDelete, k.item(name), nil, nil, version)
	return asVersionConflict(err)
}
