package emulator

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

const (
	stateFileName = "state.json"
	stateFormat   = 1
)

// stateFile is the on-disk form of the whole store. The admin token is not
// in it: it is configuration, and writing it to disk would leak it.
type stateFile struct {
	Format   int                  `json:"format"`
	Clusters map[string]time.Time `json:"clusters"`
	Tenants  []tenantRec          `json:"tenants"`
	Policies []policyRec          `json:"access_policies"`
	Tokens   []tokenRec           `json:"tokens"`
}

// snapshot must be called with s.mu held.
func (s *store) snapshot() *stateFile {
	st := &stateFile{Format: stateFormat, Clusters: map[string]time.Time{}}
	for _, c := range s.clusters {
		st.Clusters[c.Name] = c.CreatedAt
	}
	st.Tenants = sortedValues(s.tenants.rows, func(tenantRec) bool { return true })
	st.Policies = sortedValues(s.policies.rows, func(policyRec) bool { return true })
	st.Tokens = sortedValues(s.tokens.rows, func(tokenRec) bool { return true })
	return st
}

func (st *stateFile) clusterCreated(name string) (time.Time, bool) {
	if st == nil {
		return time.Time{}, false
	}
	t, ok := st.Clusters[name]
	return t, ok
}

func (st *stateFile) restoreInto(s *store) {
	if st == nil {
		return
	}
	for _, t := range st.Tenants {
		s.tenants.rows[t.Name] = t
	}
	for _, p := range st.Policies {
		s.policies.rows[p.Name] = p
	}
	for _, t := range st.Tokens {
		s.tokens.rows[t.Name] = t
	}
}

// validate catches a file that parses but could not have been written by
// this package; loading it would make later behaviour inexplicable.
func (st *stateFile) validate() error {
	if st.Format != stateFormat {
		return fmt.Errorf("unsupported format %d (want %d)", st.Format, stateFormat)
	}
	okStatus := func(s string) bool { return s == statusActive || s == statusInactive }
	names := map[string]bool{}
	check := func(kind, name, status string, version int64) error {
		key := kind + "/" + name
		validName := validateObjectName
		if kind == "tenant" {
			validName = func(name string) *apiError { return validateTenantName("name", name) }
		}
		switch {
		case name == "":
			return fmt.Errorf("a %s has no name", kind)
		case validName(name) != nil:
			// The API could never have created it, and it could not be
			// addressed in a URL either.
			return fmt.Errorf("%s %q: %s", kind, name, validName(name).msg)
		case names[key]:
			return fmt.Errorf("%s %q appears twice", kind, name)
		case !okStatus(status):
			return fmt.Errorf("%s %q has status %q", kind, name, status)
		case version < 1:
			return fmt.Errorf("%s %q has version %d", kind, name, version)
		}
		names[key] = true
		return nil
	}
	for _, t := range st.Tenants {
		if err := check("tenant", t.Name, t.Status, t.Version); err != nil {
			return err
		}
	}
	for _, p := range st.Policies {
		if err := check("access policy", p.Name, p.Status, p.Version); err != nil {
			return err
		}
	}
	for _, t := range st.Tokens {
		if err := check("token", t.Name, t.Status, t.Version); err != nil {
			return err
		}
		if b, err := hex.DecodeString(t.SecretSHA256); err != nil || len(b) != 32 {
			return fmt.Errorf("token %q has no valid secret digest", t.Name)
		}
	}
	return nil
}

// loadState returns nil, nil when there is no state yet.
func loadState(dir string) (*stateFile, error) {
	path := filepath.Join(dir, stateFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("emulator: creating data directory %s: %w", dir, err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("emulator: reading state file %s: %w", path, err)
	}
	var st stateFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("emulator: corrupt state file %s: %w", path, err)
	}
	if !atEnd(dec) {
		return nil, fmt.Errorf("emulator: corrupt state file %s: data after the state object", path)
	}
	if err := st.validate(); err != nil {
		return nil, fmt.Errorf("emulator: corrupt state file %s: %w", path, err)
	}
	return &st, nil
}

// saveState replaces state.json atomically and durably: a crash at any point
// leaves either the old or the new file, never a torn one, and once it
// returns the new file survives power loss (the directory entry included).
func saveState(dir string, st *stateFile) (err error) {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, stateFileName+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err = tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, stateFileName)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
