// Package adminapi is a typed client for the Grafana Enterprise Traces (GET)
// admin API v3, as described by ADMIN-API.md in the project's design notes.
//
// It is the only code in this project that speaks HTTP to the admin API: the
// Terraform resources map their models to the types here and turn the typed
// errors into diagnostics. The package imports nothing from Terraform.
//
// What it takes care of:
//
//   - authentication (HTTP Basic with an empty user and the admin token),
//     read from the configuration or from a mounted Secret file;
//   - TLS with a private CA, client certificates (mTLS);
//   - the network-boundary guard: the admin token is only ever sent to
//     endpoints the operator allowed, and never in clear text to a public
//     address; CheckEndpoint applies it at plan time, sending nothing;
//   - optimistic concurrency with ETag / If-Match, including the
//     re-read-and-re-apply-once rule for concurrent updates;
//   - retries of rate limiting, fail-over and connection errors with capped,
//     jittered back-off, and the lost-response rule for creates (a token
//     whose secret was lost is revoked rather than left working);
//   - a circuit breaker, so that an unreachable admin API costs one
//     operation's retry budget and not one per object;
//   - errors that carry the server's message but never a secret.
package adminapi
