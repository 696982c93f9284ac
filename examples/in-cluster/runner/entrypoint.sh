#!/usr/bin/env bash
# Entrypoint of the tenancy runner Job: init, plan, apply the tenancy module
# mounted from the chart's ConfigMap, then write every token secret into its
# Kubernetes Secret and remove the Secrets of tokens that are gone.
#
#   tempo-tenancy-runner [apply|plan|destroy|write-secret]
#
# apply   plan and apply; a plan that deactivates or replaces a tenant or an
#         access policy, or revokes a token other than by rotation, stops the
#         run unless TENANCY_ALLOW_DESTROY=true or the resource's address is
#         in TENANCY_ALLOWED_REMOVALS (a JSON list).
# plan    plan only.
# destroy revoke every token, deactivate every tenant and access policy of
#         the state, and remove the token Secrets (the chart's opt-in
#         pre-delete hook).
# write-secret
#         run by OpenTofu itself when it creates a token: when the token
#         replaces one an existing Secret holds (a rotation), the new secret
#         is written there at once, and the old token is revoked only
#         TENANCY_ROTATION_OVERLAP seconds later, so that consumers never hold
#         a revoked token (the module creates tokens before destroying them).
#
# It prints the plan, exits 3 on a refusal and 1 on any other failure, and
# never prints a secret: token secrets travel from `tofu output` to the
# Kubernetes API through pipes and files only readable by this user, in
# memory, removed on every exit.
#
# It runs as PID 1 of its container. SIGTERM and SIGINT (the Job's deadline,
# helm replacing a running hook) reach OpenTofu as an interrupt, so that it
# stops cleanly and releases the state lock instead of being killed with it.
set -euo pipefail
umask 077

mode="${1:-apply}"
case "$mode" in apply | plan | destroy | write-secret) ;; *) echo "usage: $0 [apply|plan|destroy|write-secret]" >&2; exit 2 ;; esac

work="${TENANCY_WORK_DIR:?TENANCY_WORK_DIR must name a writable directory}"
# Every file that holds a secret (the service account's token in a header
# file, Secret bodies, the outputs, the plan) goes to the scratch
# directory, which the chart mounts in memory (an emptyDir of medium
# Memory, like TMPDIR, where bash spills large here-strings): a run killed
# outright leaves nothing on a disk. The work directory keeps the module
# and OpenTofu's data.
# Each run, and each write-secret (OpenTofu runs several at once), has a
# directory of its own there.
scratch="$(mktemp -d "${TENANCY_SCRATCH_DIR:-$work}/$mode.XXXXXX")"
tf="${TENANCY_TF:-tofu}"
lock_timeout="${TENANCY_LOCK_TIMEOUT:-120s}"
allow_destroy="${TENANCY_ALLOW_DESTROY:-false}"
allowed_removals="${TENANCY_ALLOWED_REMOVALS:-[]}"
wait_seconds="${TENANCY_WAIT_SECONDS:-0}"
record="${TENANCY_RECORD:-}"
sa_dir=/var/run/secrets/kubernetes.io/serviceaccount
manager=tempo-tenancy
# The owner of what the runner writes is the release by name and namespace:
# two releases of one name in two namespaces are two owners.
release="${TENANCY_RELEASE:-}"
release_namespace="${TENANCY_RELEASE_NAMESPACE:-}"
owner="$release"
[[ -z "$release_namespace" ]] || owner="$release_namespace/$release"

# TENANCY_TIMINGS=1 stamps every line with the time, for measurements.
say() {
  if [[ -n "${TENANCY_TIMINGS:-}" ]]; then printf '==> [%s] %s\n' "$EPOCHREALTIME" "$*"; else printf '==> %s\n' "$*"; fi
}
fail() { printf 'tempo-tenancy-runner: %s\n' "$*" >&2; exit 1; }
# refuse: what the values ask for is not allowed (a removal not consented
# to, a Secret of someone else). Exit status 3, which the Job's
# podFailurePolicy fails at once: a retry would only refuse again.
refuse() { printf 'tempo-tenancy-runner: %s\n' "$*" >&2; exit 3; }

# Every file that may hold a secret, removed however the run ends.
outputs="$scratch/token-secrets.json"
cleanup() { rm -rf "$scratch"; }
trap cleanup EXIT

# run CMD...: runs a long command in the background and waits for it, so
# that a signal to this shell is handled at once: forwarded to the command
# as SIGINT, OpenTofu's graceful stop, and then waited for.
child=0
stopped=""
on_signal() {
  stopped="$1"
  if ((child)); then kill -INT "$child" 2>/dev/null || true; fi
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
run() {
  local rc=0
  [[ -z "$stopped" ]] || fail "stopped by SIG$stopped before $(basename -- "$1") ${2:-} started"
  "$@" &
  child=$!
  wait "$child" || rc=$?
  while kill -0 "$child" 2>/dev/null; do
    rc=0
    wait "$child" || rc=$?
  done
  child=0
  if [[ -n "$stopped" ]]; then
    fail "stopped by SIG$stopped; OpenTofu was interrupted and released the state lock (if it still shows as held, see force-unlock in the Helm hook guide)"
  fi
  return "$rc"
}

[[ -r "$sa_dir/token" && -r "$sa_dir/ca.crt" ]] || fail "no service account token in $sa_dir: the Job needs automountServiceAccountToken"
host="${KUBERNETES_SERVICE_HOST:?KUBERNETES_SERVICE_HOST is unset: not running in a cluster}"
[[ "$host" == *:* ]] && host="[$host]"
kube_url="https://$host:${KUBERNETES_SERVICE_PORT:-443}"

# kube METHOD PATH [CONTENT-TYPE]: one Kubernetes API call with the service
# account's token, the body (if any) on stdin. The token goes in a header
# file, not on a command line; the response body lands in $scratch/kube.out.
kube() {
  local method="$1" path="$2" ctype="${3:-}" args=()
  printf 'Authorization: Bearer %s\n' "$(cat "$sa_dir/token")" >"$scratch/kube.auth"
  args=(-sS --max-time 30 -o "$scratch/kube.out" -w '%{http_code}' --cacert "$sa_dir/ca.crt" -H "@$scratch/kube.auth" -X "$method")
  if [[ -n "$ctype" ]]; then
    args+=(-H "Content-Type: $ctype" --data-binary @-)
  fi
  curl "${args[@]}" "$kube_url$path"
}

kube_message() { jq -r '.message // "no message"' "$scratch/kube.out" 2>/dev/null || echo "no message"; }

# The record: the token Secrets this release wrote, in a ConfigMap of the
# state's namespace (see record_write).
release_ns="${TENANCY_STATE_NAMESPACE:-}"
record_read() {
  [[ -n "$record" && -n "$release_ns" ]] || { echo '[]'; return; }
  local code
  code="$(kube GET "/api/v1/namespaces/$release_ns/configmaps/$record")"
  case "$code" in
    200) jq -c '(.data["token-secrets.json"] // "[]") | fromjson' "$scratch/kube.out" ;;
    404) echo '[]' ;;
    *) fail "reading the record $release_ns/$record: HTTP $code: $(kube_message)" ;;
  esac
}

# owned_by_release: a jq test of a Secret read from the API, true when this
# release created it or labels it as its own, by name and namespace. Marks
# that name the release alone (written before the namespace was part of
# them) count only for a Secret of $known, the release's own record and
# state (["namespace/name", ...]); the next write completes them.
owned_by_release='(.metadata.namespace + "/" + .metadata.name) as $key
  | (.metadata.annotations["tempo-tenancy/created-by"] // "") as $created | (.metadata.labels // {}) as $labels
  | $created == $owner
    or (($labels["tempo-tenancy/release"] // "") == $release and ($labels["tempo-tenancy/release-namespace"] // "") == $ns)
    or (($created == $release or (($labels["tempo-tenancy/release"] // "") == $release and ($labels | has("tempo-tenancy/release-namespace") | not)))
        and ($known | index($key)) != null)'
# owned FILE [KNOWN]: whether the Secret in FILE is this release's.
owned() {
  jq -e --arg owner "$owner" --arg release "$release" --arg ns "$release_namespace" --argjson known "${2:-[]}" \
    "$owned_by_release" "$1" >/dev/null
}
# known_of TARGETS: the "namespace/name" of each target, for owned.
known_of() { jq -c 'map(.namespace + "/" + .name)' <<<"$1"; }

# write_rotated_secret is the write-secret mode. The token's secret comes in
# the environment of OpenTofu's local-exec, never on a command line. A
# Secret that does not exist yet, or holds no other token under the key, is
# left to the write after the apply: nobody is using it yet.
write_rotated_secret() {
  local ns="${TENANCY_TOKEN_NAMESPACE:?}" name="${TENANCY_TOKEN_SECRET_NAME:?}" key="${TENANCY_TOKEN_KEY:?}" code current
  [[ -n "${TENANCY_TOKEN_SECRET:-}" ]] || fail "write-secret: no token secret in the environment"
  code="$(kube GET "/api/v1/namespaces/$ns/secrets/$name")"
  case "$code" in
    404) return 0 ;;
    200) ;;
    *) fail "reading secret $ns/$name: HTTP $code: $(kube_message)" ;;
  esac
  # The run checked every token Secret before planning; one made by
  # someone else since then is still not this release's to write.
  cp "$scratch/kube.out" "$scratch/secret.json"
  if [[ "${TENANCY_ADOPT_SECRETS:-false}" != true ]] && ! owned "$scratch/secret.json" &&
    ! owned "$scratch/secret.json" "$(known_of "$(record_read)")"; then
    fail "secret $ns/$name exists and was not written by this release; nothing was written into it. Choose another secret name, or set runner.adoptExistingSecrets: true to take it over"
  fi
  current="$(jq -r --arg k "$key" '.data[$k] // "" | @base64d' "$scratch/secret.json")"
  [[ -n "$current" && "$current" != "$TENANCY_TOKEN_SECRET" ]] || return 0
  code="$(printf '%s' "$TENANCY_TOKEN_SECRET" | jq -Rs --arg k "$key" '{data: {($k): @base64}}' |
    kube PATCH "/api/v1/namespaces/$ns/secrets/$name?fieldManager=$manager" application/merge-patch+json)"
  [[ "$code" == 200 ]] || fail "writing the rotated token into secret $ns/$name: HTTP $code: $(kube_message)"
  local overlap="${TENANCY_ROTATION_OVERLAP:-90}"
  say "secret $ns/$name: rotated token ${TENANCY_TOKEN_NAME:-} written; the token it replaces is revoked in ${overlap}s"
  sleep "$overlap"
}
if [[ "$mode" == write-secret ]]; then
  write_rotated_secret
  exit 0
fi

config_dir="${TENANCY_CONFIG_DIR:?TENANCY_CONFIG_DIR must name the mounted tenancy ConfigMap}"
for f in main.tf backend.tf.json terraform.tfvars.json; do
  [[ -r "$config_dir/$f" ]] || fail "$config_dir/$f is missing: is the tenancy ConfigMap mounted?"
done
[[ -r "${TEMPO_ADMIN_TOKEN_FILE:-}" ]] || fail "the admin token file ${TEMPO_ADMIN_TOKEN_FILE:-(TEMPO_ADMIN_TOKEN_FILE unset)} is not readable: is the admin token Secret mounted?"
# The module's local-exec runs this script again, as write-secret.
TENANCY_SELF="$(readlink -f -- "$0")"
export TENANCY_SELF
jq -e 'type == "array" and all(type == "string")' <<<"$allowed_removals" >/dev/null 2>&1 ||
  fail "TENANCY_ALLOWED_REMOVALS must be a JSON list of resource addresses"

# State encryption: the state holds every token secret, so OpenTofu
# encrypts it (and the saved plan) with a key derived from the mounted
# passphrase, and refuses to write either in clear. The configuration goes
# in through TF_ENCRYPTION, so the passphrase is never in a file of the
# module nor on a command line.
if [[ -n "${TENANCY_STATE_KEY_FILE:-}" ]]; then
  [[ -r "$TENANCY_STATE_KEY_FILE" ]] || fail "the state key $TENANCY_STATE_KEY_FILE is not readable: is state.encryption.keySecret mounted?"
  passphrase="$(tr -d '\r\n' <"$TENANCY_STATE_KEY_FILE")"
  ((${#passphrase} >= 16)) || fail "the state key in state.encryption.keySecret is shorter than 16 characters"
  # An HCL string: JSON's escaping, and template sequences doubled.
  quoted="$(printf '%s' "$passphrase" | jq -Rs . | sed -e 's/\${/$${/g' -e 's/%{/%%{/g')"
  # Migrating reads a state written in clear once; OpenTofu allows that
  # only while encryption is not enforced. The write is encrypted either way.
  fallback="" enforced=true unencrypted=""
  if [[ "${TENANCY_STATE_MIGRATE:-false}" == true ]]; then
    fallback=$'\n  fallback {\n    method = method.unencrypted.migrate\n  }' enforced=false
    unencrypted='method "unencrypted" "migrate" {}'
  fi
  TF_ENCRYPTION="key_provider \"pbkdf2\" \"state\" {
  passphrase = $quoted
}
method \"aes_gcm\" \"state\" {
  keys = key_provider.pbkdf2.state
}
$unencrypted
state {
  method   = method.aes_gcm.state
  enforced = $enforced$fallback
}
plan {
  method   = method.aes_gcm.state
  enforced = true
}"
  export TF_ENCRYPTION
  unset passphrase quoted
fi

# The module is copied out of the read-only ConfigMap mount; Terraform's
# working data live in the writable work directory, the plan in the scratch
# directory.
module="$work/module"
rm -rf "$module"
mkdir -p "$module"
cp "$config_dir/main.tf" "$config_dir/backend.tf.json" "$config_dir/terraform.tfvars.json" "$module/"
export TF_DATA_DIR="$work/terraform-data" TF_IN_AUTOMATION=1 TF_INPUT=0
cd "$module"

# wait_for_admin_api: beside a first install of GET, its admin API may not
# answer yet. Any HTTP answer (401 included: nothing is sent but the
# request line) means it is up; the provider reports anything else.
wait_for_admin_api() {
  local base="${TEMPO_ADMIN_URL%/}" deadline=$((SECONDS + wait_seconds)) code args=(-s -o /dev/null -w '%{http_code}' --max-time 5)
  base="${base%/admin/api/v3}"
  [[ -n "${TENANCY_ADMIN_CA_FILE:-}" ]] && args+=(--cacert "$TENANCY_ADMIN_CA_FILE")
  while :; do
    code="$(curl "${args[@]}" "$base/admin/api/v3/clusters" 2>/dev/null || true)"
    case "$code" in
      "" | 000 | 502 | 503 | 504) ;;
      *) return 0 ;;
    esac
    ((SECONDS < deadline)) || { say "the admin API at $base does not answer yet; going on"; return 0; }
    [[ -z "$stopped" ]] || fail "stopped by SIG$stopped while waiting for the admin API"
    sleep 2
  done
}

# The record: the token Secrets this release wrote, in a ConfigMap of the
# state's namespace. It only loses an entry once that Secret is deleted, so
# a run that fails between the apply and the deletion, or a rollback, does
# not forget a Secret whose token is gone.
record_write() {
  [[ -n "$record" && -n "$release_ns" ]] || return 0
  local code
  code="$(jq -c --arg ns "$release_ns" --arg name "$record" '{
      apiVersion: "v1", kind: "ConfigMap",
      metadata: {namespace: $ns, name: $name, labels: {"app.kubernetes.io/managed-by": "tempo-tenancy"}},
      data: {"token-secrets.json": (sort | unique | tojson)}
    }' <<<"$1" | kube PATCH "/api/v1/namespaces/$release_ns/configmaps/$record?fieldManager=$manager&force=true" application/apply-patch+yaml)"
  case "$code" in
    200 | 201) ;;
    *) fail "writing the record $release_ns/$record: HTTP $code: $(kube_message)" ;;
  esac
}

# Targets are the token Secrets as [{namespace, name, keys}], one entry per
# Secret: by_secret makes them from token_secrets entries, merge_targets
# joins lists of them.
by_secret='[.[] | {namespace, name, key}] | group_by(.namespace + "/" + .name) | map({namespace: .[0].namespace, name: .[0].name, keys: (map(.key) | unique)})'
merge_targets='add // [] | map(.keys //= []) | group_by(.namespace + "/" + .name) | map({namespace: .[0].namespace, name: .[0].name, keys: (map(.keys) | add | unique)})'

# token_targets: the targets the state's output names.
# Before the first apply there is no output; any other failure stops the
# run rather than be taken for "no Secrets".
token_targets() {
  local json rc=0
  json="$("$tf" output -no-color -json 2>"$scratch/output.err")" || rc=$?
  if ((rc)); then
    cat "$scratch/output.err" >&2
    fail "cannot read the outputs of the state (exit $rc)"
  fi
  jq -c "(.token_secrets.value // {}) | $by_secret" <<<"$json"
}

# destructive_changes: what the saved plan would deactivate, replace or
# revoke, one address per line, leaving out token replacements (rotation)
# and the addresses allowed. The plan's JSON holds secrets of the state, so
# it only ever flows through this pipe.
destructive_changes() {
  "$tf" show -no-color -json "$scratch/tfplan" | jq -r --argjson allowed "$allowed_removals" '
    .resource_changes[]?
    | select(.type == "tempo_tenant" or .type == "tempo_access_policy" or .type == "tempo_token")
    | select(.change.actions | index("delete"))
    | select(.deposed == null) # the old half of a replacement an earlier run began
    | select(.type != "tempo_token" or (.change.actions | index("create") | not))
    | select(.address as $a | $allowed | index($a) | not)
    | "  \(.address) (\(if .type == "tempo_token" then "revoke" elif (.change.actions | index("create")) then "replace" else "deactivate" end))"'
}

# batch CONFIG: the requests of a curl configuration file, one block each,
# in one process over kept-alive connections. Every transfer reports
# "<status> <curl exit> <index>"; batch_check fails unless each of the
# count transfers completed.
batch_block() { # METHOD URL OUTPUT INDEX [BODY-FILE]
  printf 'next\nurl = "%s"\nrequest = "%s"\ncacert = "%s"\nheader = "@%s"\nmax-time = 30\nsilent\nshow-error\noutput = "%s"\nwrite-out = "%%{http_code} %%{exitcode} %s\\n"\n' \
    "$2" "$1" "$sa_dir/ca.crt" "$scratch/kube.auth" "$3" "$4"
  if [[ -n "${5:-}" ]]; then
    printf 'header = "Content-Type: application/apply-patch+yaml"\ndata-binary = "@%s"\n' "$5"
  fi
}
# Blocks are separated by "next"; the first one's is dropped.
batch() {
  [[ -s "$1" ]] || { : >"$2"; return 0; }
  tail -n +2 "$1" >"$1.curl"
  curl -K "$1.curl" >"$2" || true # each transfer's outcome is in its line
}
batch_check() { # CODES-FILE EXPECTED-COUNT WHAT
  local code exit idx n=0
  while read -r code exit idx; do
    [[ "$exit" == 0 && "$code" != 000 ]] ||
      fail "$3 secret ${secret_ns[idx]}/${secret_name[idx]}: the request did not complete (curl exit $exit)"
    n=$((n + 1))
  done <"$1"
  ((n == $2)) || fail "$3 token Secrets: $n of $2 requests reported"
}

# check_secrets_are_ours: a token Secret that exists and that this release
# neither created nor labels as its own belongs to someone else. The run
# stops before planning, so that neither a token is created nor a key of
# that Secret written (OpenTofu writes a new token into an existing Secret
# while it applies), unless TENANCY_ADOPT_SECRETS=true. All are read in one
# curl process.
check_secrets_are_ours() {
  [[ "${TENANCY_ADOPT_SECRETS:-false}" != true ]] || return 0
  local dir="$scratch/batch" code exit idx foreign="" known
  known="$(known_of "$previous")"
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'Authorization: Bearer %s\n' "$(cat "$sa_dir/token")" >"$scratch/kube.auth"
  secret_ns=() secret_name=()
  : >"$dir/get.cfg"
  local i=0 ns name
  while IFS=$'\t' read -r ns name; do
    secret_ns[i]="$ns" secret_name[i]="$name"
    batch_block GET "$kube_url/api/v1/namespaces/$ns/secrets/$name" "$dir/$i.got" "$i" >>"$dir/get.cfg"
    i=$((i + 1))
  done < <(jq -r '[.tokens[]?.secret | [.namespace, .name] | join("\t")] | unique[]' terraform.tfvars.json)
  batch "$dir/get.cfg" "$dir/get.codes"
  batch_check "$dir/get.codes" "$i" reading
  while read -r code exit idx; do
    case "$code" in
      200 | 404) ;;
      *) fail "reading secret ${secret_ns[idx]}/${secret_name[idx]}: HTTP $code: $(jq -r '.message // "no message"' "$dir/$idx.got" 2>/dev/null)" ;;
    esac
  done <"$dir/get.codes"
  # Those that exist and are not this release's, in one jq process.
  if ((i > 0)); then
    foreign="$(jq -rn --arg owner "$owner" --arg release "$release" --arg ns "$release_namespace" --argjson known "$known" \
      "def owned: $owned_by_release;"'
      inputs | select(.kind == "Secret") | select(owned | not)
      | "  \(.metadata.namespace)/\(.metadata.name) (\(.metadata.labels["tempo-tenancy/release"] // "no tempo-tenancy label"))"' \
      "$dir"/*.got)" || fail "cannot read the token Secrets"
  fi
  rm -rf "$dir"
  if [[ -n "$foreign" ]]; then
    printf 'tempo-tenancy-runner: these Secrets exist and were not written by this release:\n%s\n' "$foreign" >&2
    refuse "nothing was planned or applied: no token was created and no Secret written. Choose other secret names, or, to let this release take them over, set runner.adoptExistingSecrets: true"
  fi
}

wait_for_admin_api
declare -a secret_ns=() secret_name=() secret_tokens=()

say "$tf init"
run "$tf" init -no-color -input=false

if [[ -n "${TENANCY_STATE_KEY_FILE:-}" && "${TENANCY_STATE_MIGRATE:-false}" == true ]]; then
  say "$tf apply -refresh-only: writing the state encrypted"
  run "$tf" apply -refresh-only -auto-approve -no-color -input=false -lock-timeout="$lock_timeout"
fi

# What may have to go: every Secret the state or the record names.
recorded="$(record_read)"
targets="$(token_targets)"
previous="$(jq -cs "$merge_targets" <<<"$targets $recorded")"
if [[ "$mode" == apply ]]; then check_secrets_are_ours; fi

plan_args=(-no-color -input=false -lock-timeout="$lock_timeout" -detailed-exitcode -out="$scratch/tfplan")
[[ "$mode" == destroy ]] && plan_args+=(-destroy)
if [[ "$mode" == destroy ]]; then say "$tf plan -destroy"; else say "$tf plan"; fi
rc=0
run "$tf" plan "${plan_args[@]}" || rc=$?
case $rc in
  0) changes=no ;;
  2) changes=yes ;;
  *) fail "plan failed (exit $rc)" ;;
esac

if [[ "$mode" == plan ]]; then
  say "plan only: nothing applied"
  exit 0
fi

if [[ "$mode" == apply && $changes == yes && "$allow_destroy" != true ]]; then
  gone="$(destructive_changes)" || fail "cannot read the saved plan"
  if [[ -n "$gone" ]]; then
    printf 'tempo-tenancy-runner: the plan would remove what is still in use:\n%s\n' "$gone" >&2
    refuse "nothing was applied. If these removals are intended, list them under runner.allowRemovals (tenants, accessPolicies, tokens) or set runner.allowDestroy=true for this upgrade; if not, check the values (a typo, or helm upgrade --set without --reuse-values, leaves out what was there)"
  fi
fi

if [[ $changes == yes ]]; then
  say "$tf apply"
  run "$tf" apply -no-color -input=false -lock-timeout="$lock_timeout" "$scratch/tfplan"
else
  say "no changes to apply"
fi

# Token secrets, one Secret object per target with all of its keys. They
# are read first, all in one curl process over one connection, and only
# those that differ from what they should hold are written, again in one
# process, with server-side apply: created when missing, updated when a
# token was rotated or the Secret changed by hand. A run with nothing to
# change writes nothing, however many Secrets there are.
say "token Secrets: reading the outputs"
if [[ "$mode" == destroy ]]; then
  echo '{}' >"$outputs"
else
  # The module always defines this output; failing to read it must not look
  # like "no tokens", or every token Secret would be removed below.
  "$tf" output -no-color -json token_secrets >"$outputs" || fail "cannot read the token_secrets output"
fi
missing="$(jq -r '[.[] | select(.token == null) | .token_name] | join(", ")' "$outputs")"
[[ -z "$missing" ]] || say "tokens without a known secret (imported?), not written: $missing"

batch_dir="$scratch/batch"
rm -rf "$batch_dir" && mkdir -p "$batch_dir"
printf 'Authorization: Bearer %s\n' "$(cat "$sa_dir/token")" >"$scratch/kube.auth"

secret_ns=() secret_name=() secret_tokens=()
jq -r --arg release "$release" --arg ns "$release_namespace" '
  to_entries | map(select(.value.token != null)) | group_by(.value.namespace + "/" + .value.name)[]
  | ([.[0].value.namespace, .[0].value.name, ([.[].value.token_name] | join(", "))] | join("\t")),
    ({apiVersion: "v1", kind: "Secret", type: "Opaque",
      metadata: {namespace: .[0].value.namespace, name: .[0].value.name,
        labels: ({"app.kubernetes.io/managed-by": "tempo-tenancy", "tempo-tenancy/release": $release}
          + if $ns == "" then {} else {"tempo-tenancy/release-namespace": $ns} end)},
      data: (map({key: .value.key, value: (.value.token | @base64)}) | from_entries)} | tojson)' "$outputs" >"$batch_dir/want.lines" ||
  fail "cannot read the token_secrets output"
: >"$batch_dir/get.cfg"
i=0
while IFS=$'\t' read -r ns name tokens && IFS= read -r manifest; do
  secret_ns[i]="$ns" secret_name[i]="$name" secret_tokens[i]="$tokens"
  printf '%s' "$manifest" >"$batch_dir/$i.want"
  batch_block GET "$kube_url/api/v1/namespaces/$ns/secrets/$name" "$batch_dir/$i.got" "$i" >>"$batch_dir/get.cfg"
  i=$((i + 1))
done <"$batch_dir/want.lines"
count=$i

batch "$batch_dir/get.cfg" "$batch_dir/get.codes"
batch_check "$batch_dir/get.codes" "$count" reading
while read -r code exit idx; do
  case "$code" in
    200 | 404 | 403) ;;
    *) fail "reading secret ${secret_ns[idx]}/${secret_name[idx]}: HTTP $code: $(jq -r '.message // "no message"' "$batch_dir/$idx.got" 2>/dev/null)" ;;
  esac
done <"$batch_dir/get.codes"

# What each Secret needs: nothing when its keys and labels hold what they
# should (other keys are other writers' business); a write otherwise. A
# Secret this release did not create (no tempo-tenancy/created-by for it)
# and does not label as its own belongs to someone else: the run stops
# rather than take it over, unless TENANCY_ADOPT_SECRETS=true. A Secret the
# runner creates is marked as created by this release, so that its removal
# may delete it whole.
: >"$batch_dir/plan.lines"
if ((count > 0)); then
  jq -rn --argjson n "$count" --arg dir "$batch_dir" --arg owner "$owner" --arg release "$release" --arg ns "$release_namespace" \
    --argjson known "$(known_of "$previous")" --arg adopt "${TENANCY_ADOPT_SECRETS:-false}" "def owned: $owned_by_release;"'
    reduce inputs as $d ({}; .[input_filename | ltrimstr($dir + "/")] = $d)
    | . as $f | range($n) | tostring | . as $i
    | $f[$i + ".want"] as $want | $f[$i + ".got"] as $got
    | (($got.kind // "") == "Secret") as $exists
    | ($got.metadata.annotations["tempo-tenancy/created-by"] // "") as $created
    | if $exists and ($got | owned | not) and $adopt != "true" then
        "\($i)\tforeign\t\($got.metadata.labels["tempo-tenancy/release"] // "")"
      elif $exists and all($want.data | to_entries[]; $got.data[.key] == .value)
          and all($want.metadata.labels | to_entries[]; ($got.metadata.labels // {})[.key] == .value) then
        empty
      else
        "\($i)\twrite\t" + ($want | if ($exists | not) or $created == $owner or $created == $release
          then .metadata.annotations = {"tempo-tenancy/created-by": $owner} else . end | tojson)
      end' "$batch_dir"/*.want "$batch_dir"/*.got >"$batch_dir/plan.lines" ||
    fail "cannot compare the token Secrets with what they should hold"
fi
: >"$batch_dir/put.cfg"
foreign=""
put=0
while IFS=$'\t' read -r idx action body; do
  if [[ "$action" == foreign ]]; then
    foreign+="  ${secret_ns[idx]}/${secret_name[idx]} (${body:-no tempo-tenancy label})"$'\n'
    continue
  fi
  printf '%s' "$body" >"$batch_dir/$idx.body"
  batch_block PATCH "$kube_url/api/v1/namespaces/${secret_ns[idx]}/secrets/${secret_name[idx]}?fieldManager=$manager&force=true" \
    "$batch_dir/$idx.put" "$idx" "$batch_dir/$idx.body" >>"$batch_dir/put.cfg"
  put=$((put + 1))
done <"$batch_dir/plan.lines"
if [[ -n "$foreign" ]]; then
  printf 'tempo-tenancy-runner: these Secrets exist and were not written by this release:\n%s' "$foreign" >&2
  refuse "no token Secret was written. Choose other secret names, or, to let this release take them over, set runner.adoptExistingSecrets: true"
fi
batch "$batch_dir/put.cfg" "$batch_dir/put.codes"
batch_check "$batch_dir/put.codes" "$put" writing
written=0
while read -r code exit idx; do
  case "$code" in
    200 | 201) say "secret ${secret_ns[idx]}/${secret_name[idx]}: token ${secret_tokens[idx]}"; written=$((written + 1)) ;;
    *) fail "writing secret ${secret_ns[idx]}/${secret_name[idx]}: HTTP $code: $(jq -r '.message // "no message"' "$batch_dir/$idx.put" 2>/dev/null)" ;;
  esac
done <"$batch_dir/put.codes"
say "token Secrets: $count, $written written"
rm -rf "$batch_dir"

# What a token no longer declared leaves behind goes too: its key, and its
# Secret when nothing else is in it. Only Secrets labelled as this
# release's are touched, and a Secret changed by someone else in between is
# not deleted. The record first gains what was written, and loses what was
# removed only once it is gone.
current="$(jq -c "$by_secret" "$outputs")"
record_write "$(jq -cs "$merge_targets" <<<"$previous $current")"
# A Secret the runner may not touch any more (the release grants only the
# Secrets its values name: the current tokens' and runner.allowRemovals.
# secrets) stays in the record, with a warning, for a later run or a person
# to remove.
pending="$scratch/pending-removals.json"
echo '[]' >"$pending"
keep_pending() {
  say "WARNING: secret $1/$2: $3; it stays listed for removal: name it under runner.allowRemovals.secrets ({namespace: $1, name: $2}) in the next upgrade, or delete it by hand"
  jq -c --arg ns "$1" --arg name "$2" --argjson keys "$4" '. + [{namespace: $ns, name: $name, keys: $keys}]' "$pending" >"$pending.new"
  mv "$pending.new" "$pending"
}
remove_keys() {
  local ns="$1" name="$2" whole="$3" gone="$4" code rv others created
  code="$(kube GET "/api/v1/namespaces/$ns/secrets/$name")"
  case "$code" in
    404) return 0 ;;
    200) ;;
    403) keep_pending "$ns" "$name" "not readable by the runner (HTTP 403)" "$gone"; return 0 ;;
    *) fail "reading secret $ns/$name: HTTP $code: $(kube_message)" ;;
  esac
  cp "$scratch/kube.out" "$scratch/secret.json"
  if ! owned "$scratch/secret.json" "$(known_of "$previous")"; then
    say "secret $ns/$name: not written by this release; left as it is"
    return 0
  fi
  rv="$(jq -r '.metadata.resourceVersion' "$scratch/kube.out")"
  # Only a Secret this release created goes whole; in one it adopted, or
  # that a runner before this mark wrote, only its keys are removed.
  created="$(jq -r '.metadata.annotations["tempo-tenancy/created-by"] // ""' "$scratch/kube.out")"
  # Keys that are not this release's: those of other writers.
  others="$(jq -r --argjson gone "$gone" --argjson kept "$5" '(.data // {}) | keys - $gone - $kept | length' "$scratch/kube.out")"
  if [[ "$whole" == true && "$others" == 0 && ("$created" == "$owner" || "$created" == "$release") ]]; then
    code="$(jq -cn --arg rv "$rv" '{kind: "DeleteOptions", apiVersion: "v1", preconditions: {resourceVersion: $rv}}' |
      kube DELETE "/api/v1/namespaces/$ns/secrets/$name" application/json)"
    case "$code" in
      200 | 202 | 404) say "secret $ns/$name: removed (its tokens are gone)" ;;
      403) keep_pending "$ns" "$name" "not removable by the runner (HTTP 403)" "$gone" ;;
      409) fail "secret $ns/$name changed while it was being removed; run again" ;;
      *) fail "removing secret $ns/$name: HTTP $code: $(kube_message)" ;;
    esac
    return 0
  fi
  [[ "$gone" != "[]" ]] || return 0
  code="$(jq -cn --argjson gone "$gone" --arg rv "$rv" '{metadata: {resourceVersion: $rv}, data: ($gone | map({key: ., value: null}) | from_entries)}' |
    kube PATCH "/api/v1/namespaces/$ns/secrets/$name?fieldManager=$manager" application/merge-patch+json)"
  case "$code" in
    200) say "secret $ns/$name: keys $(jq -r 'join(", ")' <<<"$gone") removed (their tokens are gone)" ;;
    403) keep_pending "$ns" "$name" "keys not removable by the runner (HTTP 403)" "$gone" ;;
    409) fail "secret $ns/$name changed while keys were being removed; run again" ;;
    *) fail "removing keys from secret $ns/$name: HTTP $code: $(kube_message)" ;;
  esac
}
printf '%s' "$current" >"$scratch/current.json"
jq -c --slurpfile curs "$scratch/current.json" '$curs[0] as $cur | .[] | . as $p
    | ([$cur[] | select(.namespace == $p.namespace and .name == $p.name)] | first) as $c
    | {namespace, name, whole: ($c == null), gone: ($p.keys - ($c.keys // [])), kept: ($c.keys // [])}
    | select(.whole or (.gone | length > 0))' <<<"$previous" |
  while IFS= read -r t; do
    remove_keys "$(jq -r .namespace <<<"$t")" "$(jq -r .name <<<"$t")" "$(jq -r .whole <<<"$t")" \
      "$(jq -c .gone <<<"$t")" "$(jq -c .kept <<<"$t")"
  done
record_write "$(jq -cs "$merge_targets" <<<"$current $(cat "$pending")")"

say "done"
