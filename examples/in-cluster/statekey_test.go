package incluster_test

import (
	"strings"
	"testing"
)

// TestRunnerRotatesStateKey: the state's passphrase can be changed. With the
// new passphrase in keySecret and the old one in previousKeySecret, a run
// writes the state with the new one; from then on the old one no longer
// reads it, and the previous key can go.
func TestRunnerRotatesStateKey(t *testing.T) {
	e := newRunnerEnv(t)
	const newKey = "runner-test-rotated-passphrase-77a1"
	e.secrets = append(e.secrets, newKey)

	job := e.helmUpgrade(t, e.values(t, valuesV1))
	if out, err := e.runJob(t, job); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	before := e.stateBytes(t)

	e.kube.Apply(t, object{"apiVersion": "v1", "kind": "Secret",
		"metadata":   object{"name": "tempo-tenancy-state-key-2", "namespace": releaseNS},
		"stringData": object{"passphrase": newKey}})
	rotate := setFile(t, `state:
  encryption:
    keySecret: {name: tempo-tenancy-state-key-2, key: passphrase}
    previousKeySecret: {name: tempo-tenancy-state-key, key: passphrase}
`)
	job = e.helmUpgrade(t, e.values(t, valuesV1), rotate)
	out, err := e.runJob(t, job)
	if err != nil {
		t.Fatalf("rotating run: %v\n%s", err, out)
	}
	for _, want := range []string{"writing the state with the new state key", "remove state.encryption.previousKeySecret", "No changes"} {
		if !strings.Contains(out, want) {
			t.Errorf("the rotating run's output lacks %q:\n%s", want, out)
		}
	}
	if string(e.stateBytes(t)) == string(before) {
		t.Error("the state was not written again")
	}
	e.noSecrets(t, out)

	// Run again with both keys still given: nothing to rotate.
	out, err = e.runJob(t, job)
	if err != nil || !strings.Contains(out, "previousKeySecret may be removed") || strings.Contains(out, "re-keying") {
		t.Fatalf("second run with both keys: %v\n%s", err, out)
	}

	// The old key alone no longer reads the state; the new one does.
	job = e.helmUpgrade(t, e.values(t, valuesV1))
	if out, err := e.runJob(t, job); err == nil || !strings.Contains(out, "decrypt") {
		t.Errorf("the old key still reads the state: %v\n%s", err, out)
	}
	job = e.helmUpgrade(t, e.values(t, valuesV1), setFile(t, "state:\n  encryption:\n    keySecret: {name: tempo-tenancy-state-key-2, key: passphrase}\n"))
	out, err = e.runJob(t, job)
	if err != nil || !strings.Contains(out, "No changes") {
		t.Fatalf("the new key alone: %v\n%s", err, out)
	}
	e.noSecrets(t, out)
}
