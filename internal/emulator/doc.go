// Package emulator is a test double of the Grafana Enterprise Traces (GET)
// admin API v3, a closed-source server. It is written from ADMIN-API.md, the
// project's contract with that server, and implements every rule there tagged
// [doc], [seen] or [chosen]: versions in ETag/If-Match, soft delete, field
// validation, admin-scope authorization, and the two data-path routes that let
// a test prove a provisioned token grants what its policy says.
//
// Beyond the contract it offers what tests need and the real server lacks:
// fault injection, per-route request counts, its own handling time, a
// movable clock and optional crash-safe persistence (see Options and the
// /_emulator/ control surface).
//
// The provider never uses this package at run time; it exists so that the
// client, the provider and the acceptance tests can be exercised without the
// real server. Where the real server might differ from a [chosen] rule, the
// client is expected to tolerate it; this double deliberately implements the
// strict choice so client bugs surface here first. Options.Compat switches on
// the plausible alternatives one by one (see ParseCompat), so a test can prove
// the client copes with each.
package emulator
