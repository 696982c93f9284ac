{{/*
The runner Job, for one mode of the entrypoint: "apply" after every install,
upgrade and rollback, "plan" for helm test, "destroy" before uninstall when
asked for. Called with (dict "root" $ "mode" ... "hook" ...).
*/}}
{{- define "tempo-tenancy.runnerJob" -}}
{{- $hook := .hook -}}
{{- $argocdHook := .argocdHook -}}
{{- $root := .root -}}
{{- $deletePolicy := .deletePolicy -}}
{{- $name := .name | default .mode -}}
{{- $_ := set . "eventObject" (printf "Job/%s" (include "tempo-tenancy.suffixed" (dict "root" .root "suffix" $name))) -}}
{{- with .root -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "tempo-tenancy.suffixed" (dict "root" $root "suffix" $name) }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "tempo-tenancy.labels" . | nindent 4 }}
  annotations:
    helm.sh/hook: {{ $hook }}
    helm.sh/hook-weight: {{ .Values.runner.hookWeight | quote }}
    helm.sh/hook-delete-policy: {{ $deletePolicy }}
    # Argo CD renders the chart with helm template and runs its own hooks:
    # the apply Job after each sync, the destroy Job before the
    # Application is deleted; it has no rollback hook (an Argo CD rollback
    # is a sync to an older revision, whose apply Job runs).
    argocd.argoproj.io/hook: {{ $argocdHook }}
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
spec:
  {{- include "tempo-tenancy.runnerJobSpec" $ | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
The spec of a runner Job, for the hook Jobs and the CronJob's jobTemplate.
Called with (dict "root" $ "mode" ... "strict" ... "eventObject" "Kind/name").
*/}}
{{- define "tempo-tenancy.runnerJobSpec" -}}
{{- $mode := .mode -}}
{{- $root := .root -}}
{{- $strict := .strict | default false -}}
{{- $eventObject := .eventObject -}}
{{- with .root -}}
{{- $fullname := include "tempo-tenancy.fullname" . -}}
{{- $previousKey := .Values.state.encryption.previousKeySecret | default dict -}}
backoffLimit: {{ .Values.runner.backoffLimit }}
activeDeadlineSeconds: {{ .Values.runner.activeDeadlineSeconds }}
{{- with .Values.runner.ttlSecondsAfterFinished }}
ttlSecondsAfterFinished: {{ . }}
{{- end }}
# A refusal (a removal not allowed, a Secret of someone else: the runner
# exits 3) or drift found by the test's plan (4) fails the Job at once,
# since a retry would say the same; a pod evicted or preempted is retried
# without counting against backoffLimit.
podFailurePolicy:
  rules:
    - action: FailJob
      onExitCodes:
        containerName: runner
        operator: In
        values: [3, 4]
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
template:
  metadata:
    labels:
      {{- include "tempo-tenancy.selectorLabels" . | nindent 6 }}
      {{- with .Values.runner.podLabels }}
      {{- $selector := include "tempo-tenancy.selectorLabels" $root | fromYaml }}
      {{- range $k, $_ := . }}
      {{- if hasKey $selector $k }}
      {{- fail (printf "runner.podLabels: %q is a label the NetworkPolicy selects the runner by; choose another label" $k) }}
      {{- end }}
      {{- end }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    annotations:
      {{- with .Values.runner.podAnnotations }}
      {{- if hasKey . "checksum/config" }}
      {{- fail "runner.podAnnotations: checksum/config is the chart's own annotation; choose another" }}
      {{- end }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") . | sha256sum }}
  spec:
    serviceAccountName: {{ $fullname }}
    {{- with .Values.runner.priorityClassName }}
    priorityClassName: {{ . | quote }}
    {{- end }}
    {{- with .Values.runner.affinity }}
    affinity:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    automountServiceAccountToken: true
    restartPolicy: Never
    enableServiceLinks: false
    {{- with .Values.runner.imagePullSecrets }}
    imagePullSecrets:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.runner.nodeSelector }}
    nodeSelector:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.runner.tolerations }}
    tolerations:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      runAsNonRoot: true
      {{- with .Values.runner.runAsUser }}
      runAsUser: {{ . }}
      runAsGroup: {{ . }}
      fsGroup: {{ . }}
      {{- end }}
      seccompProfile:
        type: RuntimeDefault
    containers:
      - name: runner
        {{- $repository := required "runner.image.repository is required: the runner image built from examples/in-cluster/runner" .Values.runner.image.repository }}
        {{- if .Values.runner.image.digest }}
        image: {{ printf "%s@%s" $repository .Values.runner.image.digest | quote }}
        {{- else }}
        image: {{ printf "%s:%s" $repository (.Values.runner.image.tag | default .Chart.AppVersion) | quote }}
        {{- end }}
        imagePullPolicy: {{ .Values.runner.image.pullPolicy }}
        args: [{{ $mode }}]
        env:
          - name: TEMPO_ADMIN_URL
            value: {{ .Values.adminApi.url | quote }}
          - name: TEMPO_ADMIN_TOKEN_FILE
            value: /var/run/secrets/tempo/admin/token
          - name: TEMPO_CLUSTER
            value: {{ .Values.adminApi.cluster | quote }}
          - name: TENANCY_CONFIG_DIR
            value: /var/run/tempo-tenancy/config
          - name: TENANCY_WORK_DIR
            value: /var/run/tempo-tenancy/work
          - name: TENANCY_SCRATCH_DIR
            value: /tmp
          - name: TENANCY_RELEASE
            value: {{ .Release.Name | quote }}
          - name: TENANCY_RELEASE_NAMESPACE
            value: {{ .Release.Namespace | quote }}
          - name: TENANCY_RECORD
            value: {{ include "tempo-tenancy.recordName" . | quote }}
          - name: TENANCY_RUN_LEASE
            value: {{ include "tempo-tenancy.runLease" . | quote }}
          - name: TENANCY_EVENT_OBJECT
            value: {{ $eventObject | quote }}
          - name: TENANCY_STATE_NAMESPACE
            value: {{ include "tempo-tenancy.stateNamespace" . | quote }}
          {{- if .Values.state.encryption.enabled }}
          - name: TENANCY_STATE_KEY_FILE
            value: /var/run/secrets/tempo/state-key/passphrase
          - name: TENANCY_STATE_MIGRATE
            value: {{ .Values.state.encryption.migrateFromUnencrypted | default false | quote }}
          {{- if $previousKey.name }}
          - name: TENANCY_STATE_PREVIOUS_KEY_FILE
            value: /var/run/secrets/tempo/state-previous-key/passphrase
          {{- end }}
          {{- end }}
          - name: TENANCY_ALLOW_DESTROY
            value: {{ and (not $strict) (.Values.runner.allowDestroy | default false) | quote }}
          - name: TENANCY_ALLOWED_REMOVALS
            value: {{ ternary "[]" (include "tempo-tenancy.allowedRemovals" .) $strict | quote }}
          - name: TENANCY_CONSENT_ID
            value: {{ .Values.runner.consentId | default "" | quote }}
          - name: TENANCY_ADOPT_SECRETS
            value: {{ .Values.runner.adoptExistingSecrets | default false | quote }}
          - name: TENANCY_ADOPT_EXISTING
            value: {{ .Values.runner.adoptExisting | default false | quote }}
          - name: TENANCY_ROTATION_OVERLAP
            value: {{ .Values.runner.rotationOverlapSeconds | default 0 | quote }}
          - name: TENANCY_MAX_ROTATIONS
            value: {{ .Values.runner.maxRotationsPerRun | default 0 | quote }}
          - name: TENANCY_PART_PARALLELISM
            value: {{ .Values.runner.partParallelism | default 1 | quote }}
          - name: TENANCY_LOCK_TIMEOUT
            value: {{ .Values.runner.lockTimeout | default "300s" | quote }}
          - name: TENANCY_WAIT_SECONDS
            value: {{ .Values.runner.waitForAdminApiSeconds | default 0 | quote }}
          {{- if .Values.adminApi.caSecret.name }}
          - name: TENANCY_ADMIN_CA_FILE
            value: /var/run/secrets/tempo/ca/ca.crt
          {{- end }}
          - name: HOME
            value: /tmp
          - name: TMPDIR
            value: /tmp
          {{- range .Values.runner.extraEnv }}
          {{- if or (hasPrefix "TENANCY_" .name) (hasPrefix "TEMPO_" .name) (hasPrefix "TF_" .name) (has .name (list "HOME" "TMPDIR" "PATH")) }}
          {{- fail (printf "runner.extraEnv: %q is set by the chart (TENANCY_*, TEMPO_*, TF_*, HOME, TMPDIR, PATH): use the chart's own values for it" .name) }}
          {{- end }}
          - {{ toJson . }}
          {{- end }}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          capabilities:
            drop: [ALL]
          seccompProfile:
            type: RuntimeDefault
        resources:
          {{- toYaml .Values.runner.resources | nindent 10 }}
        volumeMounts:
          - name: config
            mountPath: /var/run/tempo-tenancy/config
            readOnly: true
          - name: work
            mountPath: /var/run/tempo-tenancy/work
          - name: tmp
            mountPath: /tmp
          - name: admin-token
            mountPath: /var/run/secrets/tempo/admin
            readOnly: true
          {{- if .Values.adminApi.caSecret.name }}
          - name: ca
            mountPath: /var/run/secrets/tempo/ca
            readOnly: true
          {{- end }}
          {{- if .Values.state.encryption.enabled }}
          - name: state-key
            mountPath: /var/run/secrets/tempo/state-key
            readOnly: true
          {{- if $previousKey.name }}
          - name: state-previous-key
            mountPath: /var/run/secrets/tempo/state-previous-key
            readOnly: true
          {{- end }}
          {{- end }}
    volumes:
      - name: config
        configMap:
          name: {{ include "tempo-tenancy.suffixed" (dict "root" $root "suffix" "config") }}
      - name: work
        emptyDir:
          sizeLimit: 256Mi
      # Secrets pass through here (TENANCY_SCRATCH_DIR, TMPDIR): in
      # memory, never on the node's disk. It counts against the memory
      # limit, hence its bound.
      - name: tmp
        emptyDir:
          medium: Memory
          sizeLimit: 64Mi
      - name: admin-token
        secret:
          secretName: {{ .Values.adminApi.tokenSecret.name }}
          defaultMode: 0o440
          items:
            - key: {{ .Values.adminApi.tokenSecret.key }}
              path: token
      {{- if .Values.adminApi.caSecret.name }}
      - name: ca
        secret:
          secretName: {{ .Values.adminApi.caSecret.name }}
          items:
            - key: {{ .Values.adminApi.caSecret.key }}
              path: ca.crt
      {{- end }}
      {{- if .Values.state.encryption.enabled }}
      - name: state-key
        secret:
          secretName: {{ .Values.state.encryption.keySecret.name }}
          defaultMode: 0o440
          items:
            - key: {{ .Values.state.encryption.keySecret.key }}
              path: passphrase
      {{- if $previousKey.name }}
      - name: state-previous-key
        secret:
          secretName: {{ $previousKey.name }}
          defaultMode: 0o440
          items:
            - key: {{ $previousKey.key | default "passphrase" }}
              path: passphrase
      {{- end }}
      {{- end }}
{{- end -}}
{{- end -}}
