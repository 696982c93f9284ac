// Package runner is the in-cluster tenancy runner: the program the chart's
// Jobs run. It plans and applies the tenancy module with the CLI (driven
// through terraform-exec, its JSON read through terraform-json), refuses a
// plan that removes what the values did not consent to, and keeps each
// token's secret in the Kubernetes Secret its consumers read (through
// client-go), removing the Secrets of tokens that are gone.
//
// Modes:
//
//	apply         plan and apply; removals need consent
//	reconcile     plan and apply on a schedule: re-create, rotate, repair,
//	              never remove, whatever the values allow
//	plan          plan only; fails (exit 4) when the plan has changes: the
//	              admin API drifted from the values
//	destroy       revoke and deactivate everything the state holds, remove
//	              the token Secrets (the chart's opt-in pre-delete hook)
//	write-secret  run by the CLI itself (local-exec) when it creates a token
//	              that replaces one an existing Secret holds: the new secret
//	              is written at once; the run revokes the old token after
//	              the rotation overlap
//
// Secrets stay in memory: token secrets go from the CLI's output to the
// Kubernetes API without touching a file, and nothing the runner prints
// holds one. A refusal exits with status 3, drift found by plan with 4, any
// other failure with 1. Each run also reports what it did as Kubernetes
// Events on its Job or CronJob.
package runner
