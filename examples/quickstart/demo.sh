#!/usr/bin/env bash
# The quickstart end to end, with the admin API emulator standing in for a
# GET cluster: apply, check that a second plan is empty, prove a created
# token works on the data path, stop everything. Run through `make demo`.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/bin"
export PATH="$bin:$PATH"

cli="${TEMPO_DEMO_CLI:-}"
if [[ -z "$cli" ]]; then
  cli="$(command -v tofu || command -v terraform || true)"
fi
if [[ -z "$cli" ]]; then
  echo "==> No tofu or terraform on PATH: building OpenTofu into bin/ (a few minutes, once)"
  make -C "$root" --no-print-directory "$bin/tofu"
  cli="$bin/tofu"
fi
command -v curl >/dev/null || { echo "demo: curl is needed to try a token on the data path" >&2; exit 1; }

work="$(mktemp -d)"
emulator_pid=""
cleanup() {
  if [[ -n "$emulator_pid" ]]; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> Building the provider and the emulator"
go build -o "$bin/terraform-provider-tempo" "$root"
go build -o "$work/emulator" "$root/internal/cmd/emulator"

echo "==> Starting the admin API emulator on loopback"
admin_token="demo-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
TEMPO_EMULATOR_ADMIN_TOKEN="$admin_token" "$work/emulator" -listen 127.0.0.1:0 -cluster tempo \
  >"$work/emulator.out" 2>"$work/emulator.log" &
emulator_pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^emulator listening on \([^ ]*\).*/\1/p' "$work/emulator.out")"
  [[ -n "$url" ]] && break
  sleep 0.1
done
[[ -n "$url" ]] || { echo "demo: the emulator did not start:" >&2; cat "$work/emulator.log" >&2; exit 1; }
echo "    $url"

# Use the provider just built, whatever registry the CLI would ask.
cat >"$work/cli.tfrc" <<TFRC
provider_installation {
  dev_overrides {
    "registry.terraform.io/tempo-tenancy/tempo" = "$bin"
    "registry.opentofu.org/tempo-tenancy/tempo" = "$bin"
  }
  direct {}
}
TFRC
export TF_CLI_CONFIG_FILE="$work/cli.tfrc"
export TF_IN_AUTOMATION=1
export TEMPO_ADMIN_URL="$url" TEMPO_ADMIN_TOKEN="$admin_token"

cp "$root"/examples/quickstart/*.tf "$work/"
tf() { "$cli" -chdir="$work" "$@"; }

echo "==> $(basename "$cli") apply examples/quickstart"
# The CLI's boxed warning about development overrides is expected here;
# every other diagnostic is shown.
tf apply -auto-approve -input=false -no-color 2>&1 | awk '
  /^Warning: Provider development overrides/ { skip = 1 }
  skip { if (/releases\.$/) skip = 0; next }
  { print }'

[[ -f "$work/terraform.tfstate" ]] || { echo "demo: apply left no state" >&2; exit 1; }

echo "==> Second plan (must report no changes)"
set +e
tf plan -detailed-exitcode -input=false -no-color >"$work/plan.txt" 2>&1
code=$?
set -e
if [[ $code -ne 0 ]]; then
  cat "$work/plan.txt" >&2
  echo "demo: the second plan is not empty (exit $code)" >&2
  exit 1
fi
grep -m1 'No changes' "$work/plan.txt"

echo "==> Trying team-a's collector token on the emulator's data path"
secret="$(tf output -json collector_tokens | sed -n 's/.*"team-a": *"\([^"]*\)".*/\1/p')"
[[ -n "$secret" ]] || { echo "demo: no collector token for team-a in the outputs" >&2; exit 1; }
status() { curl -s -o /dev/null -w '%{http_code}' -u "$1:$secret" -X POST -H 'Content-Type: application/json' -d '{}' "$url/otlp/v1/traces"; }
own="$(status team-a)"
other="$(status team-b)"
echo "    write traces to team-a: HTTP $own (want 200)"
echo "    write traces to team-b: HTTP $other (want 403)"
[[ "$own" == 200 && "$other" == 403 ]] || { echo "demo: the token does not grant what its policy says" >&2; exit 1; }

echo "==> Summary"
tf state list | sed 's/\[.*//' | sort | uniq -c | awk '{printf "    %-28s %d\n", $2, $1}'
tf output -no-color token_names | sed 's/^/    /'
echo "==> Done: applied, re-planned with no changes, token verified; emulator stopped."
