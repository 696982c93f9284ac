{{/* Name of every object of the release, within 63 characters. */}}
{{- define "tempo-tenancy.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
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
Secrets the runner may write or delete: those of these values and those of
the release being upgraded, read from its ConfigMap. The Job of an upgrade
that drops a token must still be allowed to remove that token's Secret; the
release after it no longer is.
*/}}
{{- define "tempo-tenancy.secretGrants" -}}
{{- $grants := dict -}}
{{- $current := include "tempo-tenancy.tokenSecrets" . | fromJsonArray -}}
{{- $previous := list -}}
{{- $cm := lookup "v1" "ConfigMap" .Release.Namespace (printf "%s-config" (include "tempo-tenancy.fullname" .)) -}}
{{- if and $cm $cm.data (hasKey $cm.data "token-secrets.json") -}}
{{- $previous = index $cm.data "token-secrets.json" | fromJsonArray -}}
{{- end -}}
{{- range (concat $current $previous) -}}
{{- $names := get $grants .namespace | default list -}}
{{- $_ := set $grants .namespace (append $names .name | uniq | sortAlpha) -}}
{{- end -}}
{{- $grants | toJson -}}
{{- end -}}

{{/* terraform.tfvars.json of the tenancy module, from the values. */}}
{{- define "tempo-tenancy.tfvars" -}}
{{- $tenants := dict -}}
{{- range .Values.tenants -}}
{{- if hasKey $tenants .name -}}{{- fail (printf "tenants: %q is listed twice" .name) -}}{{- end -}}
{{- $t := dict "status" (.status | default "active") -}}
{{- if .displayName -}}{{- $_ := set $t "display_name" .displayName -}}{{- end -}}
{{- $_ := set $tenants .name $t -}}
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
{{- $_ := set $tokens $key $t -}}
{{- end -}}
{{- $vars := dict "tenants" $tenants "access_policies" $policies "tokens" $tokens -}}
{{- if .Values.adminApi.caSecret.name -}}{{- $_ := set $vars "ca_cert_file" "/var/run/secrets/tempo/ca/ca.crt" -}}{{- end -}}
{{- if .Values.adminApi.allowedEndpoints -}}{{- $_ := set $vars "allowed_endpoints" .Values.adminApi.allowedEndpoints -}}{{- end -}}
{{- $vars | toPrettyJson -}}
{{- end -}}
