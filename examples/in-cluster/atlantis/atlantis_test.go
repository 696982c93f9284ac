// Package atlantis_test checks the Atlantis configuration of the in-cluster
// example against the schema Atlantis reads: the repo-level atlantis.yaml
// (version 3) and the server-side repos.yaml, with their custom workflows.
//
// Both files are decoded strictly into structs that mirror the keys of
// Atlantis' own raw config structs (server/core/config/raw in Atlantis
// v0.43.0, the release the example's image pins), so a misspelt or invented
// key fails here instead of being ignored.
// Then the rules that make the pull-request workflow safe are checked: the
// workflow is fixed server-side, nothing from a pull request runs before it
// is approved, no command takes arguments from a comment, plans run with the
// read-only credential and applies with the write credential.
package atlantis_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	repoConfigFile   = "atlantis.yaml"
	serverConfigFile = "repos.yaml"
	// The repository the example configures, as repos.yaml names it.
	tenancyRepoID = "github.com/example-org/observability-tenancy"
	// Its protected base branch: the only one Atlantis serves.
	baseBranch = "main"
	// Where the Atlantis pod mounts the two credentials.
	planTokenFile  = "/var/run/secrets/tempo-tenancy/plan/token"
	applyTokenFile = "/var/run/secrets/tempo-tenancy/apply/token"
)

// ---------------------------------------------------------------------------
// The schema: the keys of Atlantis' raw config structs (v0.43.0).

// RepoCfg is the repo-level atlantis.yaml (raw.RepoCfg, repo_cfg.go).
type RepoCfg struct {
	Version                   *int                `json:"version"`
	Projects                  []Project           `json:"projects,omitempty"`
	Workflows                 map[string]Workflow `json:"workflows,omitempty"`
	Policies                  json.RawMessage     `json:"policies,omitempty"`
	AutoDiscover              *AutoDiscover       `json:"autodiscover,omitempty"`
	Automerge                 *bool               `json:"automerge,omitempty"`
	ParallelApply             *bool               `json:"parallel_apply,omitempty"`
	ParallelPlan              *bool               `json:"parallel_plan,omitempty"`
	DeleteSourceBranchOnMerge *bool               `json:"delete_source_branch_on_merge,omitempty"`
	EmojiReaction             *string             `json:"emoji_reaction,omitempty"`
	AllowedRegexpPrefixes     []string            `json:"allowed_regexp_prefixes,omitempty"`
	AbortOnExecutionOrderFail *bool               `json:"abort_on_execution_order_fail,omitempty"`
	RepoLocks                 *RepoLocks          `json:"repo_locks,omitempty"`
	SilencePRComments         []string            `json:"silence_pr_comments,omitempty"`
}

// Project is one entry of projects in atlantis.yaml (raw.Project, project.go).
type Project struct {
	Name                  *string   `json:"name,omitempty"`
	Branch                *string   `json:"branch,omitempty"`
	Dir                   *string   `json:"dir"`
	Workspace             *string   `json:"workspace,omitempty"`
	TerraformDistribution *string   `json:"terraform_distribution,omitempty"`
	TerraformVersion      *string   `json:"terraform_version,omitempty"`
	Autoplan              *Autoplan `json:"autoplan,omitempty"`
	DependsOn             []string  `json:"depends_on,omitempty"`
	ExecutionOrderGroup   *int      `json:"execution_order_group,omitempty"`
	PolicyCheck           *bool     `json:"policy_check,omitempty"`
	// Restricted: Atlantis refuses them unless allowed_overrides names them
	// server-side (valid.GlobalCfg.ValidateRepoCfg).
	Workflow                  *string    `json:"workflow,omitempty"`
	PlanRequirements          []string   `json:"plan_requirements,omitempty"`
	ApplyRequirements         []string   `json:"apply_requirements,omitempty"`
	ImportRequirements        []string   `json:"import_requirements,omitempty"`
	DeleteSourceBranchOnMerge *bool      `json:"delete_source_branch_on_merge,omitempty"`
	RepoLocking               *bool      `json:"repo_locking,omitempty"`
	RepoLocks                 *RepoLocks `json:"repo_locks,omitempty"`
	CustomPolicyCheck         *bool      `json:"custom_policy_check,omitempty"`
	SilencePRComments         []string   `json:"silence_pr_comments,omitempty"`
}

// Autoplan is a project's autoplan block.
type Autoplan struct {
	Enabled      *bool    `json:"enabled,omitempty"`
	WhenModified []string `json:"when_modified,omitempty"`
}

// RepoLocks is a project's or repo's repo_locks block.
type RepoLocks struct {
	Mode string `json:"mode"`
}

// AutoDiscover is the autodiscover block.
type AutoDiscover struct {
	Mode        string   `json:"mode,omitempty"`
	IgnorePaths []string `json:"ignore_paths,omitempty"`
}

// GlobalCfg is the server-side repos.yaml (raw.GlobalCfg, global_cfg.go).
type GlobalCfg struct {
	Repos     []Repo              `json:"repos,omitempty"`
	Workflows map[string]Workflow `json:"workflows,omitempty"`
	// Real keys this example does not use; accepted as they are.
	Policies  json.RawMessage `json:"policies,omitempty"`
	Metrics   json.RawMessage `json:"metrics,omitempty"`
	TeamAuthz json.RawMessage `json:"team_authz,omitempty"`
}

// Repo is one entry of repos in repos.yaml (raw.Repo, global_cfg.go).
type Repo struct {
	ID                        string        `json:"id"`
	Branch                    *string       `json:"branch,omitempty"`
	RepoConfigFile            *string       `json:"repo_config_file,omitempty"`
	Workflow                  *string       `json:"workflow,omitempty"`
	PlanRequirements          []string      `json:"plan_requirements,omitempty"`
	ApplyRequirements         []string      `json:"apply_requirements,omitempty"`
	ImportRequirements        []string      `json:"import_requirements,omitempty"`
	AllowedOverrides          []string      `json:"allowed_overrides,omitempty"`
	AllowedWorkflows          []string      `json:"allowed_workflows,omitempty"`
	AllowCustomWorkflows      *bool         `json:"allow_custom_workflows,omitempty"`
	DeleteSourceBranchOnMerge *bool         `json:"delete_source_branch_on_merge,omitempty"`
	RepoLocking               *bool         `json:"repo_locking,omitempty"`
	RepoLocks                 *RepoLocks    `json:"repo_locks,omitempty"`
	PolicyCheck               *bool         `json:"policy_check,omitempty"`
	CustomPolicyCheck         *bool         `json:"custom_policy_check,omitempty"`
	AutoDiscover              *AutoDiscover `json:"autodiscover,omitempty"`
	SilencePRComments         []string      `json:"silence_pr_comments,omitempty"`
	PreWorkflowHooks          []Hook        `json:"pre_workflow_hooks,omitempty"`
	PostWorkflowHooks         []Hook        `json:"post_workflow_hooks,omitempty"`
}

// Hook is a pre or post workflow hook (raw.WorkflowHook, workflow_step.go: a
// map of strings, of which Atlantis reads these keys).
type Hook struct {
	Run         string `json:"run"`
	Description string `json:"description,omitempty"`
	Commands    string `json:"commands,omitempty"`
	Shell       string `json:"shell,omitempty"`
	ShellArgs   string `json:"shellArgs,omitempty"`
}

// Workflow is a custom workflow: one list of steps per stage (raw.Workflow).
type Workflow struct {
	Plan        *Stage `json:"plan,omitempty"`
	Apply       *Stage `json:"apply,omitempty"`
	Import      *Stage `json:"import,omitempty"`
	StateRm     *Stage `json:"state_rm,omitempty"`
	PolicyCheck *Stage `json:"policy_check,omitempty"`
}

// Stage is the steps of one stage.
type Stage struct {
	Steps []Step `json:"steps"`
}

// Built-in steps: a bare name, or the name with extra_args (raw.Step's
// validStepName, step.go, which also lets env and multienv through bare,
// though they do nothing without a body).
var builtinSteps = []string{"init", "plan", "show", "policy_check", "apply", "import", "state_rm"}

// Step is one step of a stage: a built-in (`init`, `plan: {extra_args}`), a
// custom `run` or `multienv` command (a string, or a map with `command`), or
// an `env` step (`name` and exactly one of `value` or `command`).
type Step struct {
	Name      string // the step type: a built-in name, run, multienv or env
	ExtraArgs []string
	Run       *CommandStep
	Env       *EnvStep
}

// CommandStep is the body of a run or multienv step.
type CommandStep struct {
	Command   string     `json:"command"`
	Output    *RunOutput `json:"output,omitempty"`
	Shell     string     `json:"shell,omitempty"`
	ShellArgs *ShellArgs `json:"shellArgs,omitempty"`
}

// EnvStep is the body of an env step.
type EnvStep struct {
	Name      string     `json:"name"`
	Value     *string    `json:"value,omitempty"`
	Command   *string    `json:"command,omitempty"`
	Shell     string     `json:"shell,omitempty"`
	ShellArgs *ShellArgs `json:"shellArgs,omitempty"`
}

// The output options of a run step; multienv takes only show and hide.
var runOutputs = []string{"show", "hide", "strip_refreshing"}

// RunOutput is a run step's output: one option, or a list of options and
// `filter_regex: <regexp>` maps.
type RunOutput struct {
	Options []string
	Filters []string
}

// UnmarshalJSON decodes both shapes of output.
func (o *RunOutput) UnmarshalJSON(data []byte) error {
	var one string
	if json.Unmarshal(data, &one) == nil {
		if !slices.Contains(runOutputs, one) {
			return fmt.Errorf("output %q is none of %s", one, strings.Join(runOutputs, ", "))
		}
		o.Options = []string{one}
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return errors.New("output is an option or a list of options and filter_regex maps")
	}
	for _, item := range items {
		if json.Unmarshal(item, &one) == nil {
			if !slices.Contains(runOutputs, one) {
				return fmt.Errorf("output %q is none of %s", one, strings.Join(runOutputs, ", "))
			}
			o.Options = append(o.Options, one)
			continue
		}
		var filter struct {
			FilterRegex *string `json:"filter_regex"`
		}
		if err := strictJSON(item, &filter); err != nil || filter.FilterRegex == nil {
			return fmt.Errorf("output list entry %s is neither an option nor a filter_regex map", item)
		}
		if _, err := regexp.Compile(*filter.FilterRegex); err != nil {
			return fmt.Errorf("output filter_regex: %w", err)
		}
		o.Filters = append(o.Filters, *filter.FilterRegex)
	}
	return nil
}

// ShellArgs is a step's shellArgs: a string or a list of strings.
type ShellArgs []string

// UnmarshalJSON decodes both shapes of shellArgs.
func (a *ShellArgs) UnmarshalJSON(data []byte) error {
	var one string
	if json.Unmarshal(data, &one) == nil {
		*a = strings.Fields(one)
		return nil
	}
	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return errors.New("shellArgs is a string or a list of strings")
	}
	*a = list
	return nil
}

// shellRules are Atlantis' rules for shell and shellArgs in any step.
func shellRules(name string, hasCommand bool, shell string, args *ShellArgs) error {
	if shell != "" && !hasCommand {
		return fmt.Errorf("step %s: shell only together with command", name)
	}
	if args != nil && shell == "" {
		return fmt.Errorf("step %s: shellArgs only together with shell", name)
	}
	return nil
}

// UnmarshalJSON decodes the three shapes of a step, as strictly as the rest.
func (s *Step) UnmarshalJSON(data []byte) error {
	var bare string
	if json.Unmarshal(data, &bare) == nil {
		if !slices.Contains(builtinSteps, bare) {
			return fmt.Errorf("%q is not a built-in step (one of %s)", bare, strings.Join(builtinSteps, ", "))
		}
		s.Name = bare
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("a step is a string or a map with one key: %w", err)
	}
	if len(m) != 1 {
		return fmt.Errorf("a step map has exactly one key, found %d", len(m))
	}
	for name, body := range m {
		s.Name = name
		switch {
		case slices.Contains(builtinSteps, name):
			var args struct {
				ExtraArgs []string `json:"extra_args"`
			}
			if err := strictJSON(body, &args); err != nil {
				return fmt.Errorf("step %s: %w", name, err)
			}
			s.ExtraArgs = args.ExtraArgs
		case name == "run" || name == "multienv":
			s.Run = &CommandStep{}
			if json.Unmarshal(body, &s.Run.Command) == nil {
				break
			}
			if err := strictJSON(body, s.Run); err != nil {
				return fmt.Errorf("step %s: %w", name, err)
			}
			if s.Run.Command == "" {
				return fmt.Errorf("step %s: command is required", name)
			}
			if err := shellRules(name, true, s.Run.Shell, s.Run.ShellArgs); err != nil {
				return err
			}
			if name == "multienv" && s.Run.Output != nil &&
				(len(s.Run.Output.Filters) > 0 || slices.Contains(s.Run.Output.Options, "strip_refreshing")) {
				return errors.New("step multienv: output is show or hide")
			}
		case name == "env":
			s.Env = &EnvStep{}
			if err := strictJSON(body, s.Env); err != nil {
				return fmt.Errorf("step env: %w", err)
			}
			if s.Env.Name == "" {
				return errors.New("step env: name is required")
			}
			if (s.Env.Value == nil) == (s.Env.Command == nil) {
				return fmt.Errorf("step env %s: exactly one of value or command", s.Env.Name)
			}
			if err := shellRules("env "+s.Env.Name, s.Env.Command != nil, s.Env.Shell, s.Env.ShellArgs); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%q is not a step type", name)
		}
	}
	return nil
}

// strictJSON decodes data into v and fails on keys v does not have. A custom
// UnmarshalJSON does not inherit the caller's DisallowUnknownFields.
func strictJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// decodeFile reads a YAML file strictly: unknown keys and duplicate keys are
// errors.
func decodeFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		t.Fatalf("%s does not follow the schema Atlantis reads: %v", path, err)
	}
}

func loadConfigs(t *testing.T) (RepoCfg, GlobalCfg) {
	t.Helper()
	var repo RepoCfg
	var global GlobalCfg
	decodeFile(t, repoConfigFile, &repo)
	decodeFile(t, serverConfigFile, &global)
	return repo, global
}

// ---------------------------------------------------------------------------
// What Atlantis itself checks when it reads the two files.

var requirements = []string{"approved", "mergeable", "undiverged"}

// The keys allowed_overrides may name (raw.Repo.Validate), and the project
// keys they unlock.
var overridableKeys = []string{
	"plan_requirements", "apply_requirements", "import_requirements", "workflow",
	"delete_source_branch_on_merge", "repo_locking", "repo_locks", "custom_policy_check",
	"policy_check", "silence_pr_comments",
}

var semver = regexp.MustCompile(`^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

func validateRepoCfg(c RepoCfg) error {
	if c.Version == nil || *c.Version != 3 {
		return errors.New("version must be 3")
	}
	for i, p := range c.Projects {
		if p.Dir == nil || *p.Dir == "" {
			return fmt.Errorf("projects[%d]: dir is required", i)
		}
		if strings.Contains(*p.Dir, "..") {
			return fmt.Errorf("projects[%d]: dir cannot contain '..'", i)
		}
		if d := p.TerraformDistribution; d != nil && *d != "terraform" && *d != "opentofu" {
			return fmt.Errorf("projects[%d]: terraform_distribution %q is neither terraform nor opentofu", i, *d)
		}
		if v := p.TerraformVersion; v != nil && !semver.MatchString(*v) {
			return fmt.Errorf("projects[%d]: terraform_version %q is not a semantic version", i, *v)
		}
		for _, reqs := range [][]string{p.PlanRequirements, p.ApplyRequirements, p.ImportRequirements} {
			if err := validRequirements(reqs); err != nil {
				return fmt.Errorf("projects[%d]: %w", i, err)
			}
		}
	}
	return nil
}

func validateGlobalCfg(g GlobalCfg) error {
	for _, r := range g.Repos {
		if r.ID == "" {
			return errors.New("repos: id is required")
		}
		for _, reqs := range [][]string{r.PlanRequirements, r.ApplyRequirements, r.ImportRequirements} {
			if err := validRequirements(reqs); err != nil {
				return fmt.Errorf("repo %s: %w", r.ID, err)
			}
		}
		for _, o := range r.AllowedOverrides {
			if !slices.Contains(overridableKeys, o) {
				return fmt.Errorf("repo %s: %q cannot be overridden", r.ID, o)
			}
		}
		if r.Workflow != nil && !workflowDefined(g, *r.Workflow) {
			return fmt.Errorf("repo %s: workflow %q is not defined", r.ID, *r.Workflow)
		}
		for _, w := range r.AllowedWorkflows {
			if !workflowDefined(g, w) {
				return fmt.Errorf("repo %s: allowed workflow %q is not defined", r.ID, w)
			}
		}
		if b := r.Branch; b != nil && *b != "" {
			if len(*b) < 2 || !strings.HasPrefix(*b, "/") || !strings.HasSuffix(*b, "/") {
				return fmt.Errorf("repo %s: branch %q: regex must begin and end with a slash '/'", r.ID, *b)
			}
			if _, err := regexp.Compile((*b)[1 : len(*b)-1]); err != nil {
				return fmt.Errorf("repo %s: branch %q: %w", r.ID, *b, err)
			}
		}
	}
	return nil
}

func validRequirements(reqs []string) error {
	for _, r := range reqs {
		if !slices.Contains(requirements, r) {
			return fmt.Errorf("%q is not a command requirement (one of %s)", r, strings.Join(requirements, ", "))
		}
	}
	return nil
}

// workflowDefined: `default` always exists; anything else must be defined.
func workflowDefined(g GlobalCfg, name string) bool {
	_, ok := g.Workflows[name]
	return ok || name == "default"
}

// matchingRepo merges the entries of repos.yaml that match repoID, as
// Atlantis does: later entries win, key by key.
func matchingRepo(g GlobalCfg, repoID string) (Repo, bool) {
	var merged Repo
	found := false
	for _, r := range g.Repos {
		if !idMatches(r.ID, repoID) {
			continue
		}
		found = true
		merged.ID = repoID
		if r.Workflow != nil {
			merged.Workflow = r.Workflow
		}
		if r.PlanRequirements != nil {
			merged.PlanRequirements = r.PlanRequirements
		}
		if r.ApplyRequirements != nil {
			merged.ApplyRequirements = r.ApplyRequirements
		}
		if r.ImportRequirements != nil {
			merged.ImportRequirements = r.ImportRequirements
		}
		if r.AllowedOverrides != nil {
			merged.AllowedOverrides = r.AllowedOverrides
		}
		if r.AllowedWorkflows != nil {
			merged.AllowedWorkflows = r.AllowedWorkflows
		}
		if r.AllowCustomWorkflows != nil {
			merged.AllowCustomWorkflows = r.AllowCustomWorkflows
		}
	}
	return merged, found
}

// branchServed says whether Atlantis acts on pull requests of repoID into
// branch: it asks the last entry whose id matches (valid.GlobalCfg.MatchingRepo
// and Repo.BranchMatches), and ignores every command on other base branches.
func branchServed(g GlobalCfg, repoID, branch string) bool {
	for i := len(g.Repos) - 1; i >= 0; i-- {
		r := g.Repos[i]
		if !idMatches(r.ID, repoID) {
			continue
		}
		if r.Branch == nil || *r.Branch == "" {
			return true
		}
		return regexp.MustCompile((*r.Branch)[1 : len(*r.Branch)-1]).MatchString(branch)
	}
	return true
}

func idMatches(id, repoID string) bool {
	if len(id) > 1 && strings.HasPrefix(id, "/") && strings.HasSuffix(id, "/") {
		return regexp.MustCompile(id[1 : len(id)-1]).MatchString(repoID)
	}
	return id == repoID
}

// effectiveWorkflow is what Atlantis runs for project p of repoID, or the
// error with which it refuses the repo's atlantis.yaml.
func effectiveWorkflow(g GlobalCfg, c RepoCfg, p Project, repoID string) (string, Workflow, error) {
	repo, _ := matchingRepo(g, repoID)
	allowed := func(key string) bool { return slices.Contains(repo.AllowedOverrides, key) }
	// The project keys valid.GlobalCfg.ValidateRepoCfg checks.
	restricted := map[string]bool{
		"workflow":                      p.Workflow != nil,
		"plan_requirements":             p.PlanRequirements != nil,
		"apply_requirements":            p.ApplyRequirements != nil,
		"import_requirements":           p.ImportRequirements != nil,
		"delete_source_branch_on_merge": p.DeleteSourceBranchOnMerge != nil,
		"repo_locking":                  p.RepoLocking != nil,
		"repo_locks":                    p.RepoLocks != nil,
		"custom_policy_check":           p.CustomPolicyCheck != nil,
		"silence_pr_comments":           p.SilencePRComments != nil,
	}
	for key, set := range restricted {
		if set && !allowed(key) {
			return "", Workflow{}, fmt.Errorf("repo config not allowed to set %q: the server does not list it in allowed_overrides", key)
		}
	}
	if len(c.Workflows) > 0 && (repo.AllowCustomWorkflows == nil || !*repo.AllowCustomWorkflows) {
		return "", Workflow{}, errors.New("repo config not allowed to define workflows: allow_custom_workflows is not true")
	}
	name := "default"
	if repo.Workflow != nil {
		name = *repo.Workflow
	}
	if p.Workflow != nil {
		name = *p.Workflow
		if repo.AllowedWorkflows != nil && !slices.Contains(repo.AllowedWorkflows, name) {
			return "", Workflow{}, fmt.Errorf("workflow %q is not in allowed_workflows", name)
		}
	}
	if w, ok := c.Workflows[name]; ok {
		return name, w, nil
	}
	if w, ok := g.Workflows[name]; ok {
		return name, w, nil
	}
	return "", Workflow{}, fmt.Errorf("workflow %q is not defined", name)
}

// defaultStages are Atlantis' own stages (valid.DefaultPlanStage and the
// others in valid/global_cfg.go). raw.Workflow.ToValid uses them for every
// stage a workflow leaves out or gives no steps.
var defaultStages = map[string][]Step{
	"plan":         {{Name: "init"}, {Name: "plan"}},
	"apply":        {{Name: "apply"}},
	"import":       {{Name: "init"}, {Name: "import"}},
	"state_rm":     {{Name: "init"}, {Name: "state_rm"}},
	"policy_check": {{Name: "show"}, {Name: "policy_check"}},
}

// stages is every stage Atlantis can run for workflow w, by name.
func stages(w Workflow) map[string][]Step {
	defined := map[string]*Stage{
		"plan": w.Plan, "apply": w.Apply, "import": w.Import, "state_rm": w.StateRm, "policy_check": w.PolicyCheck,
	}
	out := map[string][]Step{}
	for name, s := range defined {
		if s == nil || s.Steps == nil {
			out[name] = defaultStages[name]
		} else {
			out[name] = s.Steps
		}
	}
	return out
}

// The built-in steps that append a comment's extra arguments (everything
// after `--` in `atlantis plan -- ...`) to the command line of the tofu they
// run: plan_step_runner.go, apply_step_runner.go, import_step_runner.go and
// state_rm_step_runner.go add ctx.EscapedCommentArgs. init, show and
// policy_check do not.
var takesCommentArgs = []string{"plan", "apply", "import", "state_rm"}

// The comment that runs each stage.
var commentFor = map[string]string{
	"plan":         "atlantis plan",
	"apply":        "atlantis apply",
	"import":       "atlantis import ADDRESS ID",
	"state_rm":     "atlantis state rm ADDRESS",
	"policy_check": "atlantis plan",
}

// The variables a run step may use: none comes from a comment or is chosen
// by a pull request (HEAD_COMMIT is the commit ID the VCS reported). Atlantis
// gives run steps many more (run_step_runner.go), among them COMMENT_ARGS,
// the comment's extra arguments, and HEAD_BRANCH_NAME, PULL_AUTHOR and
// USER_NAME.
var runStepVars = []string{"PLANFILE", "ATLANTIS_TERRAFORM_DISTRIBUTION", "ATLANTIS_TERRAFORM_VERSION", "HEAD_COMMIT"}

var shellVar = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// tofu is how a run step calls OpenTofu: the binary Atlantis runs for the
// project, tofu1.12.6 for terraform_distribution opentofu and
// terraform_version v1.12.6.
const tofu = `"$ATLANTIS_TERRAFORM_DISTRIBUTION$ATLANTIS_TERRAFORM_VERSION"`

// stateEncryptionFile is the mounted state encryption configuration, and
// stateEncryption how a run step hands it to tofu.
const (
	stateEncryptionFile = "/var/run/secrets/tempo-tenancy/state-encryption/config"
	stateEncryption     = `TF_ENCRYPTION="$(cat ` + stateEncryptionFile + `)"`
)

// tofuCommand is the OpenTofu subcommand a run step runs ("plan"), or "".
func tofuCommand(s Step) string {
	if s.Name != "run" || s.Run == nil {
		return ""
	}
	cmd := strings.TrimSpace(s.Run.Command)
	// The state's encryption, from the mounted file, in tofu's environment.
	cmd = strings.TrimSpace(strings.TrimPrefix(cmd, stateEncryption))
	rest, ok := strings.CutPrefix(cmd, tofu)
	if !ok {
		return ""
	}
	if f := strings.Fields(rest); len(f) > 0 {
		return f[0]
	}
	return ""
}

// commands are the shell commands a step runs.
func commands(s Step) []string {
	switch {
	case s.Run != nil:
		return []string{s.Run.Command}
	case s.Env != nil && s.Env.Command != nil:
		return []string{*s.Env.Command}
	}
	return nil
}

// ---------------------------------------------------------------------------
// The tests.

func TestRepoConfig(t *testing.T) {
	repo, _ := loadConfigs(t)
	if err := validateRepoCfg(repo); err != nil {
		t.Fatalf("%s: %v", repoConfigFile, err)
	}
	if len(repo.Projects) == 0 {
		t.Fatalf("%s lists no project", repoConfigFile)
	}
	if len(repo.Workflows) != 0 {
		t.Errorf("%s defines workflows; the workflow belongs in %s", repoConfigFile, serverConfigFile)
	}
	for _, p := range repo.Projects {
		dir := *p.Dir
		tfFiles, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
		if len(tfFiles) == 0 {
			t.Errorf("project dir %q holds no .tf files", dir)
		}
		if p.TerraformDistribution == nil || *p.TerraformDistribution != "opentofu" {
			t.Errorf("project %q: terraform_distribution must be opentofu", dir)
		}
		if p.TerraformVersion == nil {
			t.Errorf("project %q: terraform_version must be pinned (Atlantis may not download one)", dir)
		}
		// Atlantis turns autoplan on unless enabled is false
		// (raw.Autoplan.ToValid, DefaultAutoPlan).
		if p.Autoplan == nil || p.Autoplan.Enabled == nil || *p.Autoplan.Enabled {
			t.Errorf("project %q: autoplan must be off (enabled: false): plans wait for approval, so "+
				"an autoplan on push could only be refused, and would hold the project lock", dir)
		}
		// when_modified still matters: the undiverged requirement compares
		// these files with the base branch.
		for _, pattern := range []string{"*.tf", "*.tofu", "*.tfvars", ".terraform.lock.hcl"} {
			if p.Autoplan == nil || !slices.Contains(p.Autoplan.WhenModified, pattern) {
				t.Errorf("project %q: autoplan.when_modified lacks %q", dir, pattern)
			}
		}
	}
}

func TestServerConfig(t *testing.T) {
	_, global := loadConfigs(t)
	if err := validateGlobalCfg(global); err != nil {
		t.Fatalf("%s: %v", serverConfigFile, err)
	}
	repo, ok := matchingRepo(global, tenancyRepoID)
	if !ok {
		t.Fatalf("%s has no entry for %s", serverConfigFile, tenancyRepoID)
	}
	for _, req := range []string{"approved", "mergeable"} {
		if !slices.Contains(repo.ApplyRequirements, req) {
			t.Errorf("apply_requirements lacks %q", req)
		}
	}
	if repo.AllowCustomWorkflows == nil || *repo.AllowCustomWorkflows {
		t.Error("allow_custom_workflows must be set, to false")
	}
	for _, key := range []string{"workflow", "apply_requirements", "plan_requirements", "import_requirements"} {
		if slices.Contains(repo.AllowedOverrides, key) {
			t.Errorf("allowed_overrides lets pull requests change %s", key)
		}
	}
	if repo.Workflow == nil || *repo.Workflow == "default" {
		t.Error("the repo must be given its own workflow server-side")
	}
}

// Every step of every stage runs as the same user in the same pod, where
// both credentials are mounted, and a plan runs the pull request's
// configuration: file("<write token path>") in an output, or a symlink
// leak.auto.tfvars pointing at the write token, puts the token into the plan
// Atlantis posts. No stage can hide a file from another, so nothing from a
// pull request may run before the pull request is approved.
func TestPlansWaitForApproval(t *testing.T) {
	_, global := loadConfigs(t)
	repo, _ := matchingRepo(global, tenancyRepoID)
	for _, req := range []string{"approved", "mergeable"} {
		if !slices.Contains(repo.PlanRequirements, req) {
			t.Errorf("plan_requirements lacks %q: a plan would run the configuration of a pull request nobody "+
				"reviewed, in the pod where the write credential is readable", req)
		}
	}
	// mergeable means what branch protection says only for the protected
	// branch: a pull request into a branch its author created needs no review.
	if !branchServed(global, tenancyRepoID, baseBranch) {
		t.Errorf("Atlantis would ignore pull requests into %s", baseBranch)
	}
	for _, other := range []string{"feature", "main-unprotected", "x-main", "release/main"} {
		if branchServed(global, tenancyRepoID, other) {
			t.Errorf("Atlantis would plan and apply pull requests into %q, which branch protection does not "+
				"cover; set branch: /^%s$/", other, baseBranch)
		}
	}
}

// The project runs the server-side workflow, and Atlantis accepts the
// repo's atlantis.yaml under the server's restrictions.
func TestProjectRunsServerWorkflow(t *testing.T) {
	repo, global := loadConfigs(t)
	server, _ := matchingRepo(global, tenancyRepoID)
	for _, p := range repo.Projects {
		name, _, err := effectiveWorkflow(global, repo, p, tenancyRepoID)
		if err != nil {
			t.Fatalf("Atlantis would refuse %s: %v", repoConfigFile, err)
		}
		if server.Workflow == nil || name != *server.Workflow {
			t.Errorf("project %q runs workflow %q, not the server's", *p.Dir, name)
		}
		if _, ok := global.Workflows[name]; !ok {
			t.Errorf("workflow %q is not defined in %s", name, serverConfigFile)
		}
	}
}

// A pull request cannot pick another workflow or loosen the requirements:
// Atlantis refuses the repo config that tries.
func TestPullRequestCannotOverride(t *testing.T) {
	repo, global := loadConfigs(t)
	p := repo.Projects[0]
	other := "default"
	tries := map[string]func(*Project, *RepoCfg){
		"workflow":           func(p *Project, _ *RepoCfg) { p.Workflow = &other },
		"apply_requirements": func(p *Project, _ *RepoCfg) { p.ApplyRequirements = []string{} },
		"plan_requirements":  func(p *Project, _ *RepoCfg) { p.PlanRequirements = []string{} },
		"workflows":          func(_ *Project, c *RepoCfg) { c.Workflows = map[string]Workflow{"mine": {}} },
	}
	for what, change := range tries {
		pr, cfg := p, repo
		change(&pr, &cfg)
		if _, _, err := effectiveWorkflow(global, cfg, pr, tenancyRepoID); err == nil {
			t.Errorf("a pull request setting %s would be accepted", what)
		}
	}
}

// Atlantis reads a pull request's approval before it checks the pull
// request out (plan_command_runner.go, then working_dir.go), and a fresh
// merge checkout fetches the branch as it is by then, not the commit it
// checked. So before anything of the pull request runs, the plan stage makes
// sure the merged commit (HEAD^2) is the one Atlantis checked.
func TestPlanRunsTheCheckedCommit(t *testing.T) {
	repo, global := loadConfigs(t)
	_, w, err := effectiveWorkflow(global, repo, repo.Projects[0], tenancyRepoID)
	if err != nil {
		t.Fatal(err)
	}
	guard := regexp.MustCompile(`^\[ "\$\(git rev-parse HEAD\^2\)" = "\$HEAD_COMMIT" \] \|\| \{ .*exit 1; \}$`)
	for _, s := range stages(w)["plan"] {
		if s.Env != nil && s.Env.Value != nil {
			continue
		}
		if s.Run == nil || !guard.MatchString(strings.TrimSpace(s.Run.Command)) {
			t.Errorf("plan stage: the first step that runs anything is %s, not a run step matching %s", s.Name, guard)
		}
		return
	}
	t.Error("plan stage runs nothing")
}

// Whoever may comment can add arguments: `atlantis plan -- --var-file=<write
// token path>` makes OpenTofu parse the token as variables and print it in
// its error, which Atlantis posts to the pull request. So no stage Atlantis
// can run, its own default stages included, may pass a comment's arguments
// on to any command.
func TestCommentArgsReachNoCommand(t *testing.T) {
	repo, global := loadConfigs(t)
	_, w, err := effectiveWorkflow(global, repo, repo.Projects[0], tenancyRepoID)
	if err != nil {
		t.Fatal(err)
	}
	for name, steps := range stages(w) {
		for _, s := range steps {
			if s.Run == nil && s.Env == nil && slices.Contains(takesCommentArgs, s.Name) {
				t.Errorf("%s stage: the built-in %s step adds the extra arguments of the comment to tofu's "+
					"command line (`%s -- --var-file=%s` prints the write token); run tofu from a run step",
					name, s.Name, commentFor[name], applyTokenFile)
			}
			for _, c := range commands(s) {
				if strings.Contains(c, "COMMENT_ARGS") {
					t.Errorf("%s stage: %s step %q passes on COMMENT_ARGS, the extra arguments of the comment", name, s.Name, c)
				}
			}
		}
	}
}

// The commands are fixed: they read nothing a pull request or a comment
// chooses, and no step takes a value from a command's output.
func TestStepsTakeNoInput(t *testing.T) {
	repo, global := loadConfigs(t)
	_, w, err := effectiveWorkflow(global, repo, repo.Projects[0], tenancyRepoID)
	if err != nil {
		t.Fatal(err)
	}
	for name, steps := range stages(w) {
		for _, s := range steps {
			switch {
			case s.Name == "multienv":
				t.Errorf("%s stage: multienv step %q sets variables from a command's output", name, s.Run.Command)
			case s.Env != nil && s.Env.Command != nil:
				t.Errorf("%s stage: env step %s runs a command; set a value", name, s.Env.Name)
			case s.Run != nil:
				for _, m := range shellVar.FindAllStringSubmatch(s.Run.Command, -1) {
					if !slices.Contains(runStepVars, m[1]) {
						t.Errorf("%s stage: run step %q reads $%s; a run step may use only $%s",
							name, s.Run.Command, m[1], strings.Join(runStepVars, ", $"))
					}
				}
			}
		}
	}
}

// Plans get the read-only credential and applies the write credential, from
// files. The plan writes the plan file Atlantis expects and the apply
// applies exactly that file. Import and state rm refuse: they would need a
// comment's arguments (the address and ID), and import and removed blocks
// in a pull request do the same under review.
func TestCredentialsPerStage(t *testing.T) {
	repo, global := loadConfigs(t)
	_, w, err := effectiveWorkflow(global, repo, repo.Projects[0], tenancyRepoID)
	if err != nil {
		t.Fatal(err)
	}
	all := stages(w)
	for _, c := range []struct {
		stage, command, tokenFile string
		usesPlanFile              *regexp.Regexp
	}{
		{"plan", "plan", planTokenFile, regexp.MustCompile(`\s-out[= ]"\$PLANFILE"`)},
		{"apply", "apply", applyTokenFile, regexp.MustCompile(`\s"\$PLANFILE"`)},
	} {
		env, step := envBefore(t, c.stage, all[c.stage], c.command)
		if step == nil {
			continue
		}
		for _, v := range []string{"TEMPO_ADMIN_URL", "TEMPO_CLUSTER", "TEMPO_ADMIN_TOKEN_FILE"} {
			if env[v] == "" {
				t.Errorf("%s stage: %s is not set before tofu %s", c.stage, v, c.command)
			}
		}
		if u, err := url.Parse(env["TEMPO_ADMIN_URL"]); err != nil || !inCluster(u.Hostname()) {
			t.Errorf("%s stage: TEMPO_ADMIN_URL %q is not an in-cluster Service address", c.stage, env["TEMPO_ADMIN_URL"])
		}
		if f := env["TEMPO_ADMIN_TOKEN_FILE"]; f != c.tokenFile {
			t.Errorf("%s stage reads the credential from %q, not %s", c.stage, f, c.tokenFile)
		}
		if !c.usesPlanFile.MatchString(step.Run.Command) {
			t.Errorf("%s stage: %q does not match %s: Atlantis keeps the plan in $PLANFILE",
				c.stage, step.Run.Command, c.usesPlanFile)
		}
	}
	for _, name := range []string{"import", "state_rm"} {
		if err := refuses(all[name]); err != nil {
			t.Errorf("%s stage: %v; it should only fail (use import and removed blocks in a pull request)", name, err)
		}
	}
}

// envBefore walks a stage's steps up to the run step that runs tofu command
// and returns the environment the env steps set by then, and that step.
func envBefore(t *testing.T, stage string, steps []Step, command string) (map[string]string, *Step) {
	t.Helper()
	env := map[string]string{}
	for i, s := range steps {
		switch {
		case s.Env != nil:
			if s.Env.Name == "TEMPO_ADMIN_TOKEN" {
				t.Errorf("%s stage: the token itself must not be in the environment; use TEMPO_ADMIN_TOKEN_FILE", stage)
			}
			if s.Env.Value != nil {
				env[s.Env.Name] = *s.Env.Value
			}
		case tofuCommand(s) == command:
			return env, &steps[i]
		}
	}
	t.Errorf("%s stage has no run step %s %s ...", stage, tofu, command)
	return env, nil
}

// refuses: the stage runs nothing but run steps that do not call tofu, and
// its last one fails.
func refuses(steps []Step) error {
	if len(steps) == 0 {
		return errors.New("it has no steps")
	}
	for _, s := range steps {
		if s.Name != "run" {
			return fmt.Errorf("it has a step of type %s", s.Name)
		}
		if tofuCommand(s) != "" || strings.Contains(s.Run.Command, "ATLANTIS_TERRAFORM") {
			return fmt.Errorf("step %q runs tofu", s.Run.Command)
		}
	}
	if last := strings.TrimSpace(steps[len(steps)-1].Run.Command); !strings.HasSuffix(last, "exit 1") {
		return fmt.Errorf("its last step %q does not end in exit 1", last)
	}
	return nil
}

func inCluster(host string) bool {
	return strings.HasSuffix(host, ".svc") || strings.HasSuffix(host, ".cluster.local")
}

// The provider block leaves URL and credential to the workflow's
// environment: an argument would win over it, and plan and apply would run
// with the same credential.
func TestTenancyTakesCredentialFromWorkflow(t *testing.T) {
	repo, _ := loadConfigs(t)
	setting := regexp.MustCompile(`(?m)^\s*(url|token|token_file)\s*=`)
	for _, p := range repo.Projects {
		files, _ := filepath.Glob(filepath.Join(*p.Dir, "*.tf"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if m := setting.Find(data); m != nil {
				t.Errorf("%s sets %q; leave it to the workflow's environment", f, strings.TrimSpace(string(m)))
			}
		}
	}
}

// The strict decoding really is strict: each of these mistakes is an error.
func TestStrictDecoding(t *testing.T) {
	bad := map[string]struct {
		yaml string
		into any
	}{
		"misspelt repo key":     {"repos:\n- id: x\n  allow_custom_workflow: false\n", &GlobalCfg{}},
		"unknown project key":   {"version: 3\nprojects:\n- dir: .\n  workflows: x\n", &RepoCfg{}},
		"unknown top-level key": {"version: 3\nproject: []\n", &RepoCfg{}},
		"unknown step":          {"workflows:\n  w:\n    plan:\n      steps: [init, plam]\n", &GlobalCfg{}},
		"step with two keys":    {"workflows:\n  w:\n    plan:\n      steps:\n      - {init: {}, plan: {}}\n", &GlobalCfg{}},
		"unknown env key":       {"workflows:\n  w:\n    plan:\n      steps:\n      - env: {name: A, valeu: b}\n", &GlobalCfg{}},
		"env value and command": {"workflows:\n  w:\n    plan:\n      steps:\n      - env: {name: A, value: b, command: c}\n", &GlobalCfg{}},
		"unknown built-in arg":  {"workflows:\n  w:\n    plan:\n      steps:\n      - plan: {args: [x]}\n", &GlobalCfg{}},
		"unknown stage":         {"workflows:\n  w:\n    destroy:\n      steps: [init]\n", &GlobalCfg{}},
		"duplicate key":         {"version: 3\nversion: 3\n", &RepoCfg{}},
		// Keys and steps that look plausible but that Atlantis does not have.
		"invented project key":    {"version: 3\nprojects:\n- dir: .\n  destroy_execution_order_group: 1\n", &RepoCfg{}},
		"invented step":           {"workflows:\n  w:\n    plan:\n      steps: [version]\n", &GlobalCfg{}},
		"invented run key":        {"workflows:\n  w:\n    plan:\n      steps:\n      - run: {command: c, regex_filter: x}\n", &GlobalCfg{}},
		"unknown output":          {"workflows:\n  w:\n    plan:\n      steps:\n      - run: {command: c, output: quiet}\n", &GlobalCfg{}},
		"shell without command":   {"workflows:\n  w:\n    plan:\n      steps:\n      - env: {name: A, value: b, shell: bash}\n", &GlobalCfg{}},
		"shellArgs without shell": {"workflows:\n  w:\n    plan:\n      steps:\n      - run: {command: c, shellArgs: -c}\n", &GlobalCfg{}},
	}
	for name, c := range bad {
		if err := yaml.UnmarshalStrict([]byte(c.yaml), c.into); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// ... and not stricter than Atlantis: keys and shapes Atlantis reads decode.
func TestSchemaAcceptsAtlantisKeys(t *testing.T) {
	good := map[string]struct {
		yaml string
		into any
	}{
		"repo-level keys": {"version: 3\nemoji_reaction: eyes\nrepo_locks: {mode: on_apply}\n" +
			"silence_pr_comments: [apply]\npolicies: {policy_sets: []}\n", &RepoCfg{}},
		"project keys": {"version: 3\nprojects:\n- dir: .\n  policy_check: true\n  execution_order_group: 1\n" +
			"  depends_on: [a]\n  repo_locks: {mode: disabled}\n", &RepoCfg{}},
		"run output list": {"workflows:\n  w:\n    plan:\n      steps:\n      - run:\n          command: c\n" +
			"          output: [strip_refreshing, {filter_regex: 'secret: .*'}]\n", &GlobalCfg{}},
		"shell and shellArgs": {"workflows:\n  w:\n    plan:\n      steps:\n" +
			"      - run: {command: c, shell: bash, shellArgs: [-e, -c]}\n" +
			"      - env: {name: A, command: c, shell: bash, shellArgs: -c}\n" +
			"      - multienv: {command: c, output: hide}\n", &GlobalCfg{}},
		"hooks": {"repos:\n- id: x\n  pre_workflow_hooks:\n  - {run: c, description: d, shell: sh, shellArgs: -c}\n", &GlobalCfg{}},
	}
	for name, c := range good {
		if err := yaml.UnmarshalStrict([]byte(c.yaml), c.into); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
