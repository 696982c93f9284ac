package runner

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode is what a run does; see the package documentation.
type Mode string

const (
	ModeApply       Mode = "apply"
	ModeReconcile   Mode = "reconcile"
	ModePlan        Mode = "plan"
	ModeDestroy     Mode = "destroy"
	ModeWriteSecret Mode = "write-secret"
)

// ParseMode accepts the modes a Job's args may name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeApply, ModeReconcile, ModePlan, ModeDestroy, ModeWriteSecret:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q: want apply, reconcile, plan, destroy or write-secret", s)
}

// Config is what the chart's Job hands the runner, in its environment. The
// names are the chart's; see templates/_runner.tpl.
type Config struct {
	// TF is the CLI's executable (TENANCY_TF, default "tofu").
	TF string
	// ConfigDir holds the module the chart renders: main.tf,
	// backend.tf.json and terraform.tfvars.json (TENANCY_CONFIG_DIR).
	ConfigDir string
	// WorkDir keeps the module's copy and the CLI's data (TENANCY_WORK_DIR).
	WorkDir string
	// ScratchDir takes the saved plan, in memory (TENANCY_SCRATCH_DIR,
	// default WorkDir).
	ScratchDir string

	AdminURL       string // TEMPO_ADMIN_URL
	AdminTokenFile string // TEMPO_ADMIN_TOKEN_FILE
	AdminCAFile    string // TENANCY_ADMIN_CA_FILE
	// WaitForAdminAPI bounds the wait for an admin API that does not
	// answer yet (TENANCY_WAIT_SECONDS).
	WaitForAdminAPI time.Duration

	// Release and ReleaseNamespace name the owner of what the runner
	// writes (TENANCY_RELEASE, TENANCY_RELEASE_NAMESPACE).
	Release          string
	ReleaseNamespace string
	// Record is the ConfigMap, in StateNamespace, that lists the token
	// Secrets the release wrote (TENANCY_RECORD, TENANCY_STATE_NAMESPACE).
	Record         string
	StateNamespace string
	// RunLease is the Lease, in StateNamespace, that makes the release's
	// runs take turns (TENANCY_RUN_LEASE); RunLeaseDuration is how long it
	// outlives a run that stopped renewing it (TENANCY_RUN_LEASE_SECONDS).
	RunLease         string
	RunLeaseDuration time.Duration

	StateKeyFile string // TENANCY_STATE_KEY_FILE
	StateMigrate bool   // TENANCY_STATE_MIGRATE
	// PreviousStateKeyFile holds the passphrase the state was written with
	// before StateKeyFile's, while the key is rotated
	// (TENANCY_STATE_PREVIOUS_KEY_FILE).
	PreviousStateKeyFile string

	AllowDestroy    bool     // TENANCY_ALLOW_DESTROY
	AllowedRemovals []string // TENANCY_ALLOWED_REMOVALS, a JSON list of addresses
	// ConsentID names the consent AllowDestroy and AllowedRemovals give
	// (TENANCY_CONSENT_ID): a consent removes an object once.
	ConsentID    string
	AdoptSecrets bool // TENANCY_ADOPT_SECRETS
	// AdoptExisting imports every object the values declare that the
	// admin API has and the state lacks (TENANCY_ADOPT_EXISTING).
	AdoptExisting   bool
	RotationOverlap time.Duration
	LockTimeout     string // TENANCY_LOCK_TIMEOUT, the CLI's -lock-timeout
	// MaxRotations bounds the tokens one run rotates; 0 is no bound
	// (TENANCY_MAX_ROTATIONS). The rest wait for a later run, unless in
	// the second half of their window.
	MaxRotations int
	// PartParallelism bounds the state parts planned or applied at once
	// (TENANCY_PART_PARALLELISM, default 1): each is a CLI and a provider.
	PartParallelism int

	// Timings stamps every progress line with the time (TENANCY_TIMINGS).
	Timings bool
	// EventObject is what the run's Kubernetes Events are about, as
	// Kind/name in ReleaseNamespace: the hook Job or the CronJob
	// (TENANCY_EVENT_OBJECT); none when empty.
	EventObject string
}

// Owner is how the release marks what it created: by name and namespace, so
// two releases of one name in two namespaces are two owners.
func (c Config) Owner() string {
	if c.ReleaseNamespace == "" {
		return c.Release
	}
	return c.ReleaseNamespace + "/" + c.Release
}

// ConfigFromEnv reads the Job's environment. Only what every mode needs is
// checked here; Run checks the rest.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		TF:                   or(getenv("TENANCY_TF"), "tofu"),
		ConfigDir:            getenv("TENANCY_CONFIG_DIR"),
		WorkDir:              getenv("TENANCY_WORK_DIR"),
		ScratchDir:           getenv("TENANCY_SCRATCH_DIR"),
		AdminURL:             getenv("TEMPO_ADMIN_URL"),
		AdminTokenFile:       getenv("TEMPO_ADMIN_TOKEN_FILE"),
		AdminCAFile:          getenv("TENANCY_ADMIN_CA_FILE"),
		Release:              getenv("TENANCY_RELEASE"),
		ReleaseNamespace:     getenv("TENANCY_RELEASE_NAMESPACE"),
		Record:               getenv("TENANCY_RECORD"),
		StateNamespace:       getenv("TENANCY_STATE_NAMESPACE"),
		StateKeyFile:         getenv("TENANCY_STATE_KEY_FILE"),
		PreviousStateKeyFile: getenv("TENANCY_STATE_PREVIOUS_KEY_FILE"),
		LockTimeout:          or(getenv("TENANCY_LOCK_TIMEOUT"), "120s"),
		ConsentID:            getenv("TENANCY_CONSENT_ID"),
		RunLease:             getenv("TENANCY_RUN_LEASE"),
		Timings:              getenv("TENANCY_TIMINGS") != "",
		EventObject:          getenv("TENANCY_EVENT_OBJECT"),
	}
	if c.ScratchDir == "" {
		c.ScratchDir = c.WorkDir
	}
	var err error
	if c.StateMigrate, err = flag(getenv, "TENANCY_STATE_MIGRATE"); err != nil {
		return c, err
	}
	if c.AllowDestroy, err = flag(getenv, "TENANCY_ALLOW_DESTROY"); err != nil {
		return c, err
	}
	if c.AdoptSecrets, err = flag(getenv, "TENANCY_ADOPT_SECRETS"); err != nil {
		return c, err
	}
	if c.AdoptExisting, err = flag(getenv, "TENANCY_ADOPT_EXISTING"); err != nil {
		return c, err
	}
	if c.WaitForAdminAPI, err = seconds(getenv, "TENANCY_WAIT_SECONDS", 0); err != nil {
		return c, err
	}
	if c.RotationOverlap, err = seconds(getenv, "TENANCY_ROTATION_OVERLAP", 90); err != nil {
		return c, err
	}
	if c.RunLeaseDuration, err = seconds(getenv, "TENANCY_RUN_LEASE_SECONDS", 60); err != nil {
		return c, err
	}
	if c.RunLeaseDuration < 3*time.Second {
		return c, fmt.Errorf("TENANCY_RUN_LEASE_SECONDS must be 3 or more, got %s", c.RunLeaseDuration)
	}
	if kind, name, ok := strings.Cut(c.EventObject, "/"); c.EventObject != "" && (!ok || (kind != "Job" && kind != "CronJob") || name == "") {
		return c, fmt.Errorf("TENANCY_EVENT_OBJECT must be Job/<name> or CronJob/<name>, got %q", c.EventObject)
	}
	if v := strings.TrimSpace(getenv("TENANCY_MAX_ROTATIONS")); v != "" {
		if c.MaxRotations, err = strconv.Atoi(v); err != nil || c.MaxRotations < 0 {
			return c, fmt.Errorf("TENANCY_MAX_ROTATIONS must be a whole number, 0 for no bound, got %q", v)
		}
	}
	c.PartParallelism = 1
	if v := strings.TrimSpace(getenv("TENANCY_PART_PARALLELISM")); v != "" {
		if c.PartParallelism, err = strconv.Atoi(v); err != nil || c.PartParallelism < 1 {
			return c, fmt.Errorf("TENANCY_PART_PARALLELISM must be a whole number, 1 or more, got %q", v)
		}
	}
	if v := getenv("TENANCY_ALLOWED_REMOVALS"); v != "" {
		if err := json.Unmarshal([]byte(v), &c.AllowedRemovals); err != nil {
			return c, fmt.Errorf("TENANCY_ALLOWED_REMOVALS must be a JSON list of resource addresses: %w", err)
		}
	}
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// flag reads a boolean the chart renders as "true" or "false"; anything else
// is a mistake worth stopping for rather than a silent "false".
func flag(getenv func(string) string, name string) (bool, error) {
	switch v := getenv(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%s must be true or false, got %q", name, v)
	}
}

func seconds(getenv func(string) string, name string, def int) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return time.Duration(def) * time.Second, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s must be a whole number of seconds, got %q", name, v)
	}
	return time.Duration(n) * time.Second, nil
}
