package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// minPassphrase is the shortest state passphrase accepted.
const minPassphrase = 16

// encryptionConfig is OpenTofu's TF_ENCRYPTION for the state and the saved
// plan, with a key derived from the passphrase in keyFile. The state holds
// every token secret: OpenTofu refuses to write either in clear. migrate
// reads a state written in clear once; the write is encrypted either way.
// The configuration goes to the CLI in its environment only, so the
// passphrase is in no file of the module and on no command line.
func encryptionConfig(keyFile string, migrate bool) (string, error) {
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return "", fmt.Errorf("the state key %s is not readable: is state.encryption.keySecret mounted? (%v)", keyFile, err)
	}
	passphrase := strings.NewReplacer("\r", "", "\n", "").Replace(string(raw))
	if utf8.RuneCountInString(passphrase) < minPassphrase {
		return "", fmt.Errorf("the state key in state.encryption.keySecret is shorter than %d characters", minPassphrase)
	}
	quoted, err := hclString(passphrase)
	if err != nil {
		return "", err
	}
	fallback, unencrypted, enforced := "", "", "true"
	if migrate {
		fallback = "\n  fallback {\n    method = method.unencrypted.migrate\n  }"
		unencrypted = `method "unencrypted" "migrate" {}`
		enforced = "false"
	}
	return fmt.Sprintf(`key_provider "pbkdf2" "state" {
  passphrase = %s
}
method "aes_gcm" "state" {
  keys = key_provider.pbkdf2.state
}
%s
state {
  method   = method.aes_gcm.state
  enforced = %s%s
}
plan {
  method   = method.aes_gcm.state
  enforced = true
}`, quoted, unencrypted, enforced, fallback), nil
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
