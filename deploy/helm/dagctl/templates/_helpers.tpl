{{/*
Helpers of the dagctl chart: names, labels, the image, the restricted security contexts, the
environment every dagctl container gets (Redis URL, S3, DAGCTL_HOME, TMPDIR) and the writable
volumes. Addresses are Service names relative to the release (never a hard-coded namespace).
*/}}

{{- define "dagctl.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dagctl.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "worker") */}}
{{- define "dagctl.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dagctl.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "dagctl.labels" -}}
{{ include "dagctl.selectorLabels" . }}
app.kubernetes.io/part-of: dagctl
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "dagctl.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dagctl.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "dagctl.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "dagctl.redisName" -}}
{{- printf "%s-redis" (include "dagctl.fullname" .) -}}
{{- end -}}

{{- define "dagctl.redisPasswordSecret" -}}
{{- default (include "dagctl.redisName" .) .Values.redis.bundled.auth.existingSecret -}}
{{- end -}}

{{/* Refuses inconsistent values before anything renders. */}}
{{- define "dagctl.validate" -}}
{{- if and .Values.redis.bundled.enabled .Values.redis.existingSecret -}}
{{- fail "redis: set either redis.existingSecret (an external Redis URL) or redis.bundled.enabled, not both" -}}
{{- end -}}
{{- if and (not .Values.redis.bundled.enabled) (not .Values.redis.existingSecret) -}}
{{- fail "redis: set redis.existingSecret (a Secret holding the Redis URL) or redis.bundled.enabled=true" -}}
{{- end -}}
{{- if lt (int .Values.worker.concurrency) 1 -}}
{{- fail "worker.concurrency must be at least 1" -}}
{{- end -}}
{{- if .Values.worker.autoscaling.enabled -}}
{{- if gt (int .Values.worker.autoscaling.minReplicas) (int .Values.worker.autoscaling.maxReplicas) -}}
{{- fail "worker.autoscaling.minReplicas must not exceed maxReplicas" -}}
{{- end -}}
{{- if lt (int .Values.worker.autoscaling.maxReplicas) 1 -}}
{{- fail "worker.autoscaling.maxReplicas must be at least 1" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.scheduler.enabled (not .Values.scheduler.dags) (not .Values.scheduler.existingConfigMap) -}}
{{- fail "scheduler.enabled needs DAG files: scheduler.dags or scheduler.existingConfigMap" -}}
{{- end -}}
{{- if and .Values.serve.enabled (not .Values.serve.views) -}}
{{- fail "serve.enabled needs at least one view in serve.views (NAME=URI)" -}}
{{- end -}}
{{- if and .Values.ui.enabled (not .Values.ui.token.existingSecret) -}}
{{- fail "ui.enabled needs ui.token.existingSecret: the UI refuses to listen beyond loopback without a token" -}}
{{- end -}}
{{- end -}}

{{/* Pod-level restricted security context (Pod Security Standards: restricted). */}}
{{- define "dagctl.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "dagctl.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The environment of every dagctl container. */}}
{{- define "dagctl.env" -}}
{{- if .Values.redis.bundled.enabled }}
- name: DAGCTL_REDIS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "dagctl.redisPasswordSecret" . }}, key: {{ .Values.redis.bundled.auth.key }} }
- name: DAGCTL_REDIS_URL
  value: {{ printf "redis://:$(DAGCTL_REDIS_PASSWORD)@%s:6379/0" (include "dagctl.redisName" .) | quote }}
{{- else }}
- name: DAGCTL_REDIS_URL
  valueFrom:
    secretKeyRef: { name: {{ .Values.redis.existingSecret }}, key: {{ .Values.redis.existingSecretKey }} }
{{- end }}
{{- with .Values.s3.endpoint }}
- name: DAGCTL_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: AWS_REGION
  value: {{ .Values.s3.region | quote }}
{{- with .Values.s3.forcePathStyle }}
- name: DAGCTL_S3_FORCE_PATH_STYLE
  value: {{ . | quote }}
{{- end }}
{{- with .Values.s3.bucket }}
- name: DAGCTL_S3_BUCKET
  value: {{ . | quote }}
{{- end }}
{{- with .Values.s3.credentials.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: { name: {{ . }}, key: {{ $.Values.s3.credentials.accessKeyIdKey }} }
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: { name: {{ . }}, key: {{ $.Values.s3.credentials.secretAccessKeyKey }} }
{{- end }}
- name: DAGCTL_HOME
  value: /var/lib/dagctl
- name: TMPDIR
  value: /tmp
- name: HOME
  value: /tmp
- name: DAGCTL_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{- define "dagctl.volumeMounts" -}}
- { name: tmp, mountPath: /tmp }
- { name: home, mountPath: /var/lib/dagctl }
{{- end -}}

{{- define "dagctl.volumes" -}}
- name: tmp
  emptyDir: { sizeLimit: {{ .Values.scratch.tmpSizeLimit }} }
- name: home
  emptyDir: { sizeLimit: {{ .Values.scratch.homeSizeLimit }} }
{{- end -}}

{{/* HTTP probes on /healthz (liveness, startup) and /readyz (readiness) of port `http`. */}}
{{- define "dagctl.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet: { path: /healthz, port: http }
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /readyz, port: http }
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}

{{/* Pod spec fields shared by the dagctl Deployments. */}}
{{- define "dagctl.podCommon" -}}
serviceAccountName: {{ include "dagctl.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- include "dagctl.podSecurityContext" (dict) | nindent 2 }}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A dagctl Deployment + its Service + PodDisruptionBudget.
(dict "ctx" $ "component" "worker" "values" .Values.worker "args" (list …) "replicas" N-or-nil
      "terminationGracePeriodSeconds" N "extraEnv" (list …) "extraVolumes" (list …) "extraMounts" (list …))
*/}}
{{- define "dagctl.component" -}}
{{- $ctx := .ctx -}}
{{- $name := printf "%s-%s" (include "dagctl.fullname" $ctx) .component -}}
{{- $v := .values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "dagctl.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .replicas) }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "dagctl.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "dagctl.labels" (dict "ctx" $ctx "component" .component) | nindent 8 }}
      {{- with $ctx.Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      {{- include "dagctl.podCommon" $ctx | nindent 6 }}
      terminationGracePeriodSeconds: {{ .terminationGracePeriodSeconds | default 30 }}
      containers:
        - name: {{ .component }}
          image: {{ include "dagctl.image" $ctx }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          env:
            {{- include "dagctl.env" $ctx | trim | nindent 12 }}
            {{- with .extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - { name: http, containerPort: {{ $v.port }}, protocol: TCP }
          {{- include "dagctl.probes" $ctx | nindent 10 }}
          securityContext:
            {{- include "dagctl.containerSecurityContext" $ctx | nindent 12 }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            {{- include "dagctl.volumeMounts" $ctx | nindent 12 }}
            {{- with .extraMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "dagctl.volumes" $ctx | nindent 8 }}
        {{- with .extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if $ctx.Values.topologySpread }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "dagctl.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 14 }}
      {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "dagctl.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
    dagctl.io/metrics: "true"
spec:
  type: {{ (($v.service).type) | default "ClusterIP" }}
  selector:
    {{- include "dagctl.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
  ports:
    - { name: http, port: {{ $v.port }}, targetPort: http, protocol: TCP }
{{- with $v.podDisruptionBudget }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "dagctl.labels" (dict "ctx" $ctx "component" $.component) | nindent 4 }}
spec:
  {{- toYaml . | nindent 2 }}
  selector:
    matchLabels:
      {{- include "dagctl.selectorLabels" (dict "ctx" $ctx "component" $.component) | nindent 6 }}
{{- end }}
{{- end -}}
