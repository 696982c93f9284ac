#!/usr/bin/env bash
# Entrypoint of the tenancy runner Job: init, plan, apply the tenancy module
# mounted from the chart's ConfigMap, then write every token secret into its
# Kubernetes Secret and remove the Secrets of tokens that are gone.
#
#   tempo-tenancy-runner [apply|plan]
#
# It prints the plan, exits non-zero on any failure, and never prints a
# secret: token secrets travel from `tofu output` to the Kubernetes API
# through pipes and files only readable by this user.
set -euo pipefail
umask 077

mode="${1:-apply}"
case "$mode" in apply | plan) ;; *) echo "usage: $0 [apply|plan]" >&2; exit 2 ;; esac

config_dir="${TENANCY_CONFIG_DIR:?TENANCY_CONFIG_DIR must name the mounted tenancy ConfigMap}"
work="${TENANCY_WORK_DIR:?TENANCY_WORK_DIR must name a writable directory}"
tf="${TENANCY_TF:-tofu}"
sa_dir=/var/run/secrets/kubernetes.io/serviceaccount
manager=tempo-tenancy

say() { printf '==> %s\n' "$*"; }
fail() { printf 'tempo-tenancy-runner: %s\n' "$*" >&2; exit 1; }

for f in main.tf backend.tf.json terraform.tfvars.json; do
  [[ -r "$config_dir/$f" ]] || fail "$config_dir/$f is missing: is the tenancy ConfigMap mounted?"
done
[[ -r "${TEMPO_ADMIN_TOKEN_FILE:-}" ]] || fail "the admin token file ${TEMPO_ADMIN_TOKEN_FILE:-(TEMPO_ADMIN_TOKEN_FILE unset)} is not readable: is the admin token Secret mounted?"
[[ -r "$sa_dir/token" && -r "$sa_dir/ca.crt" ]] || fail "no service account token in $sa_dir: the Job needs automountServiceAccountToken"
host="${KUBERNETES_SERVICE_HOST:?KUBERNETES_SERVICE_HOST is unset: not running in a cluster}"
[[ "$host" == *:* ]] && host="[$host]"
kube_url="https://$host:${KUBERNETES_SERVICE_PORT:-443}"

# The module is copied out of the read-only ConfigMap mount; Terraform's
# working data and the plan live in the writable work directory.
module="$work/module"
rm -rf "$module"
mkdir -p "$module"
cp "$config_dir/main.tf" "$config_dir/backend.tf.json" "$config_dir/terraform.tfvars.json" "$module/"
export TF_DATA_DIR="$work/terraform-data" TF_IN_AUTOMATION=1 TF_INPUT=0
cd "$module"

# kube METHOD PATH [CONTENT-TYPE]: one Kubernetes API call with the service
# account's token, the body (if any) on stdin. The token goes in a header
# file, not on a command line; the response body lands in $work/kube.out.
kube() {
  local method="$1" path="$2" ctype="${3:-}" args=()
  printf 'Authorization: Bearer %s\n' "$(cat "$sa_dir/token")" >"$work/kube.auth"
  args=(-sS -o "$work/kube.out" -w '%{http_code}' --cacert "$sa_dir/ca.crt" -H "@$work/kube.auth" -X "$method")
  if [[ -n "$ctype" ]]; then
    args+=(-H "Content-Type: $ctype" --data-binary @-)
  fi
  curl "${args[@]}" "$kube_url$path"
}

# token_targets: {namespace, name} of every Secret the state's output names.
token_targets() {
  "$tf" output -no-color -json token_secrets 2>/dev/null | jq -c '[.[] | {namespace, name}] | unique' || echo '[]'
}

say "$tf init"
"$tf" init -no-color -input=false

previous="$(token_targets)"

say "$tf plan"
set +e
"$tf" plan -no-color -input=false -detailed-exitcode -out="$work/tfplan"
rc=$?
set -e
case $rc in
  0) changes=no ;;
  2) changes=yes ;;
  *) fail "plan failed (exit $rc)" ;;
esac

if [[ "$mode" == plan ]]; then
  say "plan only: nothing applied"
  exit 0
fi

if [[ $changes == yes ]]; then
  say "$tf apply"
  "$tf" apply -no-color -input=false "$work/tfplan"
else
  say "no changes to apply"
fi

# Token secrets, one Secret object per target with all of its keys, written
# with server-side apply: created when missing, updated when a token was
# rotated, untouched (same resourceVersion) when nothing changed.
outputs="$work/token-secrets.json"
# The module always defines this output; failing to read it must not look
# like "no tokens", or every token Secret would be removed below.
"$tf" output -no-color -json token_secrets >"$outputs" || fail "cannot read the token_secrets output"
missing="$(jq -r '[.[] | select(.token == null) | .token_name] | join(", ")' "$outputs")"
[[ -z "$missing" ]] || say "tokens without a known secret (imported?), not written: $missing"

jq -c 'to_entries | map(select(.value.token != null)) | group_by(.value.namespace + "/" + .value.name)[]' "$outputs" |
  while IFS= read -r group; do
    ns="$(jq -r '.[0].value.namespace' <<<"$group")"
    name="$(jq -r '.[0].value.name' <<<"$group")"
    tokens="$(jq -r '[.[].value.token_name] | join(", ")' <<<"$group")"
    code="$(jq -c --arg release "${TENANCY_RELEASE:-}" '{
        apiVersion: "v1", kind: "Secret", type: "Opaque",
        metadata: {
          namespace: .[0].value.namespace, name: .[0].value.name,
          labels: {"app.kubernetes.io/managed-by": "tempo-tenancy", "tempo-tenancy/release": $release}
        },
        data: (map({key: .value.key, value: (.value.token | @base64)}) | from_entries)
      }' <<<"$group" | kube PATCH "/api/v1/namespaces/$ns/secrets/$name?fieldManager=$manager&force=true" application/apply-patch+yaml)"
    case "$code" in
      200 | 201) say "secret $ns/$name: token $tokens" ;;
      *) fail "writing secret $ns/$name: HTTP $code: $(jq -r '.message // "no message"' "$work/kube.out" 2>/dev/null)" ;;
    esac
  done

# Secrets of tokens no longer declared: the tokens were revoked by the
# apply; their Secrets go too.
current="$(jq -c '[.[] | {namespace, name}] | unique' "$outputs")"
jq -r --argjson cur "$current" '.[] | select(. as $t | $cur | index($t) | not) | "\(.namespace) \(.name)"' <<<"$previous" |
  while read -r ns name; do
    code="$(kube DELETE "/api/v1/namespaces/$ns/secrets/$name")"
    case "$code" in
      200 | 202 | 404) say "secret $ns/$name: removed (its token is gone)" ;;
      *) fail "removing secret $ns/$name: HTTP $code: $(jq -r '.message // "no message"' "$work/kube.out" 2>/dev/null)" ;;
    esac
  done

rm -f "$outputs" "$work/kube.auth" "$work/kube.out" "$work/tfplan"
say "done"
