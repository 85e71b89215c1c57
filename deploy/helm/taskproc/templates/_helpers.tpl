{{/* Names, labels and the shared pod template of every role. */}}

{{- define "taskproc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "taskproc.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "taskproc.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "taskproc.labels" -}}
helm.sh/chart: {{ include "taskproc.chart" . }}
app.kubernetes.io/name: {{ include "taskproc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one role; call with (dict "root" $ "role" "api"). */}}
{{- define "taskproc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "taskproc.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{- define "taskproc.componentLabels" -}}
{{ include "taskproc.labels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{- define "taskproc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "taskproc.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "taskproc.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret and key that hold the Redis URL; fails early when neither is configured. */}}
{{- define "taskproc.redisSecretName" -}}
{{- if .Values.redis.bundled.enabled }}
{{- fail "redis.bundled.enabled: the URL is built from redis.bundled.passwordSecret" }}
{{- else if .Values.redis.existingSecret }}
{{- .Values.redis.existingSecret }}
{{- else if .Values.redis.url }}
{{- printf "%s-redis" (include "taskproc.fullname" .) }}
{{- else }}
{{- fail "set redis.existingSecret (a Secret holding the Redis URL) or, for trials, redis.url" }}
{{- end }}
{{- end }}

{{- define "taskproc.redisSecretKey" -}}
{{- if .Values.redis.existingSecret }}
{{- .Values.redis.existingSecretKey }}
{{- else }}
{{- "redis-url" }}
{{- end }}
{{- end }}

{{- define "taskproc.filesClaimName" -}}
{{- default (printf "%s-files" (include "taskproc.fullname" .)) .Values.files.persistence.existingClaim }}
{{- end }}

{{/*
One role's Deployment. Call with (dict "root" $ "role" "api" "values" .Values.api
"args" (list "api") "port" 8080 "portName" "http" "files" false).
*/}}
{{- define "taskproc.deployment" -}}
{{- $root := .root }}
{{- $v := .values }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "taskproc.fullname" $root }}-{{ .role }}
  labels:
    {{- include "taskproc.componentLabels" . | nindent 4 }}
spec:
  {{- if not (or $v.autoscaling.enabled (and (hasKey $v "keda") $v.keda.enabled)) }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "taskproc.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "taskproc.selectorLabels" . | nindent 8 }}
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- with $root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "taskproc.serviceAccountName" $root }}
      automountServiceAccountToken: false
      # Service links would inject TASKPROC_<SERVICE>_PORT=tcp://… variables, which the
      # settings refuse as unknown TASKPROC_ names at start-up.
      enableServiceLinks: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- if hasKey $v "shutdownGraceSeconds" }}
      terminationGracePeriodSeconds: {{ add $v.shutdownGraceSeconds $v.terminationExtraSeconds }}
      {{- end }}
      containers:
        - name: {{ .role }}
          image: {{ include "taskproc.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          ports:
            - name: {{ .portName }}
              containerPort: {{ .port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "taskproc.fullname" $root }}
          env:
            {{- if $root.Values.redis.bundled.enabled }}
            - name: BUNDLED_REDIS_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ $root.Values.redis.bundled.passwordSecret }}
                  key: redis-password
            - name: TASKPROC_REDIS_URL
              value: "redis://:$(BUNDLED_REDIS_PASSWORD)@{{ include "taskproc.fullname" $root }}-redis:6379/0"
            {{- else }}
            - name: TASKPROC_REDIS_URL
              valueFrom:
                secretKeyRef:
                  name: {{ include "taskproc.redisSecretName" $root }}
                  key: {{ include "taskproc.redisSecretKey" $root }}
            {{- end }}
            {{- with $root.Values.redis.sentinel }}
            {{- if and .enabled .passwordSecret.name }}
            - name: TASKPROC_REDIS_SENTINEL_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ .passwordSecret.name }}
                  key: {{ .passwordSecret.key }}
            {{- end }}
            {{- end }}
            {{- with .extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $root.Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            httpGet:
              path: /healthz
              port: {{ .portName }}
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet:
              path: /healthz
              port: {{ .portName }}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: {{ .portName }}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if .files }}
            - name: files
              mountPath: {{ $root.Values.files.mountPath }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- if .files }}
        - name: files
          {{- if $root.Values.files.persistence.enabled }}
          persistentVolumeClaim:
            claimName: {{ include "taskproc.filesClaimName" $root }}
          {{- else }}
          emptyDir: {}
          {{- end }}
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
{{- end }}

{{/* HPA of one role; same arguments as taskproc.deployment. */}}
{{- define "taskproc.hpa" -}}
{{- $a := .values.autoscaling }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "taskproc.fullname" .root }}-{{ .role }}
  labels:
    {{- include "taskproc.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "taskproc.fullname" .root }}-{{ .role }}
  minReplicas: {{ $a.minReplicas }}
  maxReplicas: {{ $a.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $a.targetCPUUtilizationPercentage }}
{{- end }}

{{- define "taskproc.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "taskproc.fullname" .root }}-{{ .role }}
  labels:
    {{- include "taskproc.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .values.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "taskproc.selectorLabels" . | nindent 6 }}
{{- end }}
