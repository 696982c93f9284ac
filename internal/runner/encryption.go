package runner

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// minPassphrase is the shortest state passphrase accepted.
const minPassphrase = 16

// stateKey is a passphrase of the state and the name of its key provider.
// OpenTofu records a key provider's name in the metadata of what it
// encrypts, and a key provider reads only what carries its own name: the
// name stays with a passphrase for as long as the state is written with it.
type stateKey struct {
	name       string
	passphrase string
}

// The key providers' names: a rotation writes the state under the other one.
const (
	keyNameFirst  = "state"
	keyNameSecond = "next"
)

func otherKeyName(name string) string {
	if name == keyNameFirst {
		return keyNameSecond
	}
	return keyNameFirst
}

// readPassphrase reads a mounted passphrase, without line ends.
func readPassphrase(keyFile, value string) (string, error) {
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return "", fmt.Errorf("the state key %s is not readable: is %s mounted? (%w)", keyFile, value, err)
	}
	passphrase := strings.NewReplacer("\r", "", "\n", "").Replace(string(raw))
	if utf8.RuneCountInString(passphrase) < minPassphrase {
		return "", fmt.Errorf("the state key in %s is shorter than %d characters", value, minPassphrase)
	}
	return passphrase, nil
}

// encryptionConfig is OpenTofu's TF_ENCRYPTION for the state and the saved
// plan. The state holds every token secret: OpenTofu refuses to write either
// in clear. The state is written with key; fallback, when set, reads a state
// written with another (a rotation: the next write uses key). migrate reads
// a state written in clear once instead. The configuration goes to the CLI
// in its environment only, so a passphrase is in no file of the module and
// on no command line.
func encryptionConfig(key stateKey, fallback *stateKey, migrate bool) (string, error) {
	var b strings.Builder
	provider := func(k stateKey) error {
		quoted, err := hclString(k.passphrase)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "key_provider \"pbkdf2\" %q {\n  passphrase = %s\n}\nmethod \"aes_gcm\" %q {\n  keys = key_provider.pbkdf2.%s\n}\n", k.name, quoted, k.name, k.name)
		return nil
	}
	if err := provider(key); err != nil {
		return "", err
	}
	fallbackBlock, enforced := "", "true"
	switch {
	case fallback != nil && migrate:
		return "", errors.New("state.encryption.migrateFromUnencrypted and state.encryption.previousKeySecret cannot be set together: migrate first, then rotate")
	case fallback != nil:
		if err := provider(*fallback); err != nil {
			return "", err
		}
		fallbackBlock = fmt.Sprintf("\n  fallback {\n    method = method.aes_gcm.%s\n  }", fallback.name)
	case migrate:
		b.WriteString("method \"unencrypted\" \"migrate\" {}\n")
		fallbackBlock = "\n  fallback {\n    method = method.unencrypted.migrate\n  }"
		enforced = "false"
	}
	fmt.Fprintf(&b, "state {\n  method   = method.aes_gcm.%s\n  enforced = %s%s\n}\nplan {\n  method   = method.aes_gcm.%s\n  enforced = true\n}", key.name, enforced, fallbackBlock, key.name)
	return b.String(), nil
}

// keyNameInState reads which key provider wrote the state: the name in the
// metadata OpenTofu stores beside the encrypted data. It is "" when there
// is no state yet, or it is not encrypted.
func keyNameInState(stored []byte) (string, error) {
	if len(stored) == 0 {
		return "", nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(stored))
	if err != nil {
		return "", fmt.Errorf("the state is not what the kubernetes backend writes (gzip): %w", err)
	}
	plain, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil {
		return "", fmt.Errorf("reading the state: %w", err)
	}
	var st struct {
		Meta map[string]json.RawMessage `json:"meta"`
	}
	if err := json.Unmarshal(plain, &st); err != nil {
		return "", fmt.Errorf("the state is not JSON: %w", err)
	}
	for k := range st.Meta {
		if name, ok := strings.CutPrefix(k, "key_provider.pbkdf2."); ok {
			return name, nil
		}
	}
	return "", nil
}

// hclString quotes s as an HCL string literal: JSON's escapes, which HCL
// shares, and its template sequences doubled so they stay literal.
func hclString(s string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	q := strings.TrimSuffix(b.String(), "\n")
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(q), nil
}
