{{/* Name of every object of the release, within 63 characters. */}}
{{- define "tempo-tenancy.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A name of the release with a suffix, within 63 characters whatever the release name. */}}
{{- define "tempo-tenancy.suffixed" -}}
{{- $base := include "tempo-tenancy.fullname" .root -}}
{{- printf "%s-%s" ($base | trunc (int (sub 62 (len .suffix))) | trimSuffix "-") .suffix -}}
{{- end -}}

{{/*
The namespace of the state: its own, so that the backend's list on Secrets
never covers the admin token's namespace.
*/}}
{{- define "tempo-tenancy.stateNamespace" -}}
{{- $ns := .Values.state.namespace | default (include "tempo-tenancy.suffixed" (dict "root" . "suffix" "state")) -}}
{{- if eq $ns .Release.Namespace -}}
{{- fail (printf "state.namespace: %q is the release namespace, where the admin token Secret is; the state backend needs list on Secrets in its namespace, so give it a namespace of its own" $ns) -}}
{{- end -}}
{{- if has $ns (list "kube-system" "kube-public" "kube-node-lease" "default") -}}
{{- fail (printf "state.namespace: %q is a namespace of the cluster's own; the state backend needs list on Secrets in its namespace, so give it a namespace of its own" $ns) -}}
{{- end -}}
{{- $ns -}}
{{- end -}}

{{/* The Secret the Kubernetes backend keeps the state in. */}}
{{- define "tempo-tenancy.stateSecret" -}}
{{- printf "tfstate-default-%s" (include "tempo-tenancy.fullname" .) -}}
{{- end -}}

{{/*
The token parts of the state (state.parts above 1): their backend suffixes,
as a JSON list, each within 63 characters (the backend puts it in a label).
The runner assigns the tokens to them.
*/}}
{{- define "tempo-tenancy.stateParts" -}}
{{- $out := list -}}
{{- $n := int (.Values.state.parts | default 1) -}}
{{- if gt $n 1 -}}
{{- range $i := until $n -}}
{{- $out = append $out (include "tempo-tenancy.suffixed" (dict "root" $ "suffix" (printf "part-%d" $i))) -}}
{{- end -}}
{{- end -}}
{{- $out | toJson -}}
{{- end -}}

{{/*
Refuses token Secrets that would overwrite what the run itself depends on
(the admin token, the CA, the state) or another token's key.
*/}}
{{- define "tempo-tenancy.checkCollisions" -}}
{{- $reserved := dict -}}
{{- $_ := set $reserved (printf "%s/%s" .Release.Namespace .Values.adminApi.tokenSecret.name) "adminApi.tokenSecret (the admin token)" -}}
{{- if .Values.adminApi.caSecret.name -}}
{{- $_ := set $reserved (printf "%s/%s" .Release.Namespace .Values.adminApi.caSecret.name) "adminApi.caSecret (the admin API's CA)" -}}
{{- end -}}
{{- $_ := set $reserved (printf "%s/%s" (include "tempo-tenancy.stateNamespace" .) (include "tempo-tenancy.stateSecret" .)) "the Terraform state of this release" -}}
{{- range include "tempo-tenancy.stateParts" . | fromJsonArray -}}
{{- $_ := set $reserved (printf "%s/tfstate-default-%s" (include "tempo-tenancy.stateNamespace" $) .) "a part of the Terraform state of this release" -}}
{{- end -}}
{{- with .Values.state.encryption.keySecret.name -}}
{{- $_ := set $reserved (printf "%s/%s" $.Release.Namespace .) "state.encryption.keySecret (the state's key)" -}}
{{- end -}}
{{- with (.Values.state.encryption.previousKeySecret | default dict).name -}}
{{- $_ := set $reserved (printf "%s/%s" $.Release.Namespace .) "state.encryption.previousKeySecret (the state's previous key)" -}}
{{- end -}}
{{- $keys := dict -}}
{{- range .Values.tokens -}}
{{- $who := .name | default .namePrefix -}}
{{- $at := printf "%s/%s" .secret.namespace .secret.name -}}
{{- if hasKey $reserved $at -}}
{{- fail (printf "tokens: %q would write its secret into Secret %s, which is %s; choose another secret.name" $who $at (get $reserved $at)) -}}
{{- end -}}
{{- $k := printf "%s/%s" $at .secret.key -}}
{{- if hasKey $keys $k -}}
{{- fail (printf "tokens: %q and %q both write key %q of Secret %s; give each token its own key or Secret" (get $keys $k) $who .secret.key $at) -}}
{{- end -}}
{{- $_ := set $keys $k $who -}}
{{- end -}}
{{- end -}}

{{- define "tempo-tenancy.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "tempo-tenancy.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: runner
{{- end -}}

{{/*
The Secrets the runner writes token secrets to, as JSON: a list of
{namespace, name}, sorted and without duplicates.
*/}}
{{- define "tempo-tenancy.tokenSecrets" -}}
{{- $seen := dict -}}
{{- range .Values.tokens -}}
{{- $_ := set $seen (printf "%s/%s" .secret.namespace .secret.name) (dict "namespace" .secret.namespace "name" .secret.name) -}}
{{- end -}}
{{- $out := list -}}
{{- range $k := keys $seen | sortAlpha -}}
{{- $out = append $out (get $seen $k) -}}
{{- end -}}
{{- $out | toJson -}}
{{- end -}}

{{/*
Secrets the runner may write or delete, as JSON {namespace: [names]}: those
of the tokens in these values, and those this upgrade allows it to remove
(runner.allowRemovals.secrets). They come from the values alone: nothing
read from the cluster, which the runner itself or anyone who edits a
ConfigMap could write, decides what the release grants.
*/}}
{{- define "tempo-tenancy.secretGrants" -}}
{{- $grants := dict -}}
{{- $all := include "tempo-tenancy.tokenSecrets" . | fromJsonArray -}}
{{- with .Values.runner.allowRemovals -}}
{{- $all = concat $all (.secrets | default list) -}}
{{- end -}}
{{- range $all -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .namespace) -}}
{{- fail (printf "secret namespace %q is not a namespace name" .namespace) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$" .name) -}}
{{- fail (printf "secret name %q is not a Secret name" .name) -}}
{{- end -}}
{{- $names := get $grants .namespace | default list -}}
{{- $_ := set $grants .namespace (append $names .name | uniq | sortAlpha) -}}
{{- end -}}
{{- $grants | toJson -}}
{{- end -}}

{{/*
Workloads the runner restarts when the token in a Secret key they read is
replaced, as a JSON list of {namespace, secret, key, kind, name}.
*/}}
{{- define "tempo-tenancy.restarts" -}}
{{- $out := list -}}
{{- range .Values.tokens -}}
{{- $secret := .secret -}}
{{- range .restart -}}
{{- $out = append $out (dict "namespace" $secret.namespace "secret" $secret.name "key" $secret.key "kind" .kind "name" .name) -}}
{{- end -}}
{{- end -}}
{{- $out | toJson -}}
{{- end -}}

{{/*
The workloads the runner may restart in one namespace, as JSON {kind:
[names]}: those the values' tokens list, nothing read from the cluster.
*/}}
{{- define "tempo-tenancy.restartGrants" -}}
{{- $ns := .namespace -}}
{{- $grants := dict -}}
{{- range include "tempo-tenancy.restarts" .root | fromJsonArray -}}
{{- if eq .namespace $ns -}}
{{- $names := get $grants .kind | default list -}}
{{- $_ := set $grants .kind (append $names .name | uniq | sortAlpha) -}}
{{- end -}}
{{- end -}}
{{- $grants | toJson -}}
{{- end -}}

{{/* The Lease that makes the release's runs take turns. */}}
{{- define "tempo-tenancy.runLease" -}}
{{- include "tempo-tenancy.suffixed" (dict "root" . "suffix" "run") -}}
{{- end -}}

{{/* The ConfigMap in which the runner records the token Secrets it wrote. */}}
{{- define "tempo-tenancy.recordName" -}}
{{- include "tempo-tenancy.suffixed" (dict "root" . "suffix" "written") -}}
{{- end -}}

{{/* terraform.tfvars.json of the tenancy module, from the values. */}}
{{- define "tempo-tenancy.tfvars" -}}
{{- $adoptTenants := list -}}{{- $adoptPolicies := list -}}{{- $adoptTokens := dict -}}
{{- $tenants := dict -}}
{{- range .Values.tenants -}}
{{- if hasKey $tenants .name -}}{{- fail (printf "tenants: %q is listed twice" .name) -}}{{- end -}}
{{- $t := dict "status" (.status | default "active") -}}
{{- if .displayName -}}{{- $_ := set $t "display_name" .displayName -}}{{- end -}}
{{- $_ := set $tenants .name $t -}}
{{- if .adopt -}}{{- $adoptTenants = append $adoptTenants .name -}}{{- end -}}
{{- end -}}
{{- $policies := dict -}}
{{- range .Values.accessPolicies -}}
{{- if hasKey $policies .name -}}{{- fail (printf "accessPolicies: %q is listed twice" .name) -}}{{- end -}}
{{- $realms := list -}}
{{- range .realms -}}
{{- $realms = append $realms (dict "tenant" .tenant "cluster" (.cluster | default $.Values.adminApi.cluster) "label_policies" (.labelPolicies | default list)) -}}
{{- end -}}
{{- $p := dict "scopes" .scopes "realms" $realms "status" (.status | default "active") -}}
{{- if .displayName -}}{{- $_ := set $p "display_name" .displayName -}}{{- end -}}
{{- $_ := set $policies .name $p -}}
{{- if .adopt -}}{{- $adoptPolicies = append $adoptPolicies .name -}}{{- end -}}
{{- end -}}
{{- $tokens := dict -}}
{{- range .Values.tokens -}}
{{- $key := .name | default .namePrefix -}}
{{- if hasKey $tokens $key -}}{{- fail (printf "tokens: %q is listed twice" $key) -}}{{- end -}}
{{- $t := dict "access_policy" .accessPolicy "rotation" (toString (.rotation | default "")) "secret" (dict "namespace" .secret.namespace "name" .secret.name "key" .secret.key) -}}
{{- if .name -}}{{- $_ := set $t "name" .name -}}{{- end -}}
{{- if .namePrefix -}}{{- $_ := set $t "name_prefix" .namePrefix -}}{{- end -}}
{{- if .displayName -}}{{- $_ := set $t "display_name" .displayName -}}{{- end -}}
{{- if .expiration -}}{{- $_ := set $t "expiration" .expiration -}}{{- end -}}
{{- if .expireAfter -}}{{- $_ := set $t "expire_after" .expireAfter -}}{{- end -}}
{{- if .earlyRotationWindow -}}{{- $_ := set $t "early_rotation_window" .earlyRotationWindow -}}{{- end -}}
{{- if .expireAfterJitter -}}{{- $_ := set $t "expire_after_jitter" .expireAfterJitter -}}{{- end -}}
{{- $_ := set $tokens $key $t -}}
{{- if and (kindIs "string" .adopt) .name (ne .adopt .name) -}}
{{- fail (printf "tokens: %q has name %q and adopt %q; a token with name adopts the token of that name (adopt: true)" $key .name .adopt) -}}
{{- else if kindIs "string" .adopt -}}
{{- $_ := set $adoptTokens $key .adopt -}}
{{- else if and .adopt .name -}}
{{- $_ := set $adoptTokens $key .name -}}
{{- else if .adopt -}}
{{- fail (printf "tokens: %q has namePrefix and adopt: true; name the existing token to adopt, adopt: <its name>" $key) -}}
{{- end -}}
{{- end -}}
{{- include "tempo-tenancy.checkCollisions" . -}}
{{- $parts := int (.Values.state.parts | default 1) -}}
{{- $need := div (add (len .Values.tokens) 199) 200 -}}
{{- if and .Values.state.encryption.enabled (eq $parts 1) (gt (len .Values.tokens) 280) -}}
{{- fail (printf "tokens: %d tokens in one state; at most 280 with state encryption, whose state must stay well within one Kubernetes Secret (1 MiB) during a rotation of every token: set state.parts to %d or more (about one part per 200 tokens)" (len .Values.tokens) $need) -}}
{{- else if and .Values.state.encryption.enabled (gt $parts 1) (gt (len .Values.tokens) (mul 200 $parts)) -}}
{{- fail (printf "tokens: %d tokens in %d state parts; at most 200 per part on average with state encryption: set state.parts to %d or more" (len .Values.tokens) $parts $need) -}}
{{- end -}}
{{- if and .Values.state.encryption.enabled (not .Values.state.encryption.keySecret.name) -}}
{{- fail "state.encryption.keySecret.name is required: the state holds every token secret and is encrypted with a passphrase (16 characters or more) from a Secret in the release namespace; create one (see values.yaml) or, knowingly, set state.encryption.enabled: false" -}}
{{- end -}}
{{- $vars := dict "tenants" $tenants "access_policies" $policies "tokens" $tokens -}}
{{- if or $adoptTenants $adoptPolicies $adoptTokens -}}
{{- $_ := set $vars "adopt" (dict "tenants" $adoptTenants "access_policies" $adoptPolicies "tokens" $adoptTokens) -}}
{{- end -}}
{{- if .Values.adminApi.caSecret.name -}}{{- $_ := set $vars "ca_cert_file" "/var/run/secrets/tempo/ca/ca.crt" -}}{{- end -}}
{{- if .Values.adminApi.allowedEndpoints -}}{{- $_ := set $vars "allowed_endpoints" .Values.adminApi.allowedEndpoints -}}{{- end -}}
{{- $vars | toPrettyJson -}}
{{- end -}}

{{/*
The resource addresses whose removal this upgrade intends, for the
runner's check of destructive plans.
*/}}
{{- define "tempo-tenancy.allowedRemovals" -}}
{{- $out := list -}}
{{- with .Values.runner.allowRemovals -}}
{{- range .tenants -}}{{- $out = append $out (printf "tempo_tenant.this[%q]" .) -}}{{- end -}}
{{- range .accessPolicies -}}{{- $out = append $out (printf "tempo_access_policy.this[%q]" .) -}}{{- end -}}
{{- range .tokens -}}{{- $out = append $out (printf "tempo_token.this[%q]" .) -}}{{- end -}}
{{- end -}}
{{- $out | toJson -}}
{{- end -}}
