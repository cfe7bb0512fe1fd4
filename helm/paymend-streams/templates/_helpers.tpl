{{/*
Expand the name of the chart.
*/}}
{{- define "paymend-streams.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "paymend-streams.fullname" -}}
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

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "paymend-streams.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "paymend-streams.labels" -}}
helm.sh/chart: {{ include "paymend-streams.chart" . }}
{{ include "paymend-streams.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels
*/}}
{{- define "paymend-streams.selectorLabels" -}}
app.kubernetes.io/name: {{ include "paymend-streams.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "paymend-streams.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "paymend-streams.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The worker's web port: WORKER_WEB_PORT from config, else the application's default.
*/}}
{{- define "paymend-streams.webPort" -}}
{{- .Values.config.WORKER_WEB_PORT | default 6066 | int }}
{{- end }}

{{/*
The webhook path: WEBHOOK_PATH from config, else the application's default.
*/}}
{{- define "paymend-streams.webhookPath" -}}
{{- .Values.config.WEBHOOK_PATH | default "/webhooks/paymend" }}
{{- end }}

{{/*
Partitions of the service's topics: TOPIC_PARTITIONS from config, else the application's default.
*/}}
{{- define "paymend-streams.partitions" -}}
{{- .Values.config.TOPIC_PARTITIONS | default 8 | int }}
{{- end }}

{{/*
The data directory inside the container.
*/}}
{{- define "paymend-streams.dataDir" -}}
{{- .Values.config.WORKER_DATA_DIR | default .Values.workload.dataDir }}
{{- end }}

{{/*
The environment of the ConfigMap, as YAML: chart-derived settings, then values.config (which wins).
Whole numbers are printed as integers (values arrive as float64: 1048576 would print 1.048576e+06).
*/}}
{{- define "paymend-streams.configData" -}}
{{- $env := dict
  "WORKER_STORE" (ternary "rocksdb://" "memory://" (eq .Values.workload.kind "StatefulSet"))
  "WORKER_DATA_DIR" .Values.workload.dataDir
  "WORKER_WEB_HOST" "0.0.0.0" }}
{{- range $key, $value := .Values.config }}
{{- if not (kindIs "invalid" $value) }}
{{- if and (kindIs "float64" $value) (eq $value (floor $value)) }}
{{- $_ := set $env $key (toString (int64 $value)) }}
{{- else }}
{{- $_ := set $env $key (toString $value) }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{/*
Name of the Secret holding the secret settings.
*/}}
{{- define "paymend-streams.secretName" -}}
{{- if .Values.secrets.create }}
{{- include "paymend-streams.fullname" . }}
{{- else }}
{{- .Values.secrets.existingSecret }}
{{- end }}
{{- end }}

{{/*
Secret settings: logical key in values -> environment variable of streams/settings.py.
*/}}
{{- define "paymend-streams.secretEnvNames" -}}
paymendApiToken: PAYMEND_API_TOKEN
kafkaSaslPassword: KAFKA_SASL_PASSWORD
webhookToken: WEBHOOK_TOKEN
webhookHmacSecrets: WEBHOOK_HMAC_SECRETS
{{- end }}

{{/*
Checks that span several values (the schema checks each value by itself).
*/}}
{{- define "paymend-streams.validate" -}}
{{- if and .Values.autoscaling.hpa.enabled .Values.keda.enabled }}
{{- fail "autoscaling.hpa.enabled and keda.enabled are both true: choose one autoscaler (two would fight over the replica count)" }}
{{- end }}
{{- $partitions := include "paymend-streams.partitions" . | int }}
{{- if and .Values.autoscaling.hpa.enabled (gt (int .Values.autoscaling.hpa.maxReplicas) $partitions) }}
{{- fail (printf "autoscaling.hpa.maxReplicas (%d) exceeds TOPIC_PARTITIONS (%d): extra consumers would sit idle" (int .Values.autoscaling.hpa.maxReplicas) $partitions) }}
{{- end }}
{{- if and .Values.keda.enabled (gt (int .Values.keda.maxReplicaCount) $partitions) }}
{{- fail (printf "keda.maxReplicaCount (%d) exceeds TOPIC_PARTITIONS (%d): extra consumers would sit idle" (int .Values.keda.maxReplicaCount) $partitions) }}
{{- end }}
{{- if not (or .Values.secrets.create .Values.secrets.existingSecret) }}
{{- fail "PAYMEND_API_TOKEN is required: set secrets.existingSecret (a Secret holding it), or secrets.create=true with secrets.values.paymendApiToken" }}
{{- end }}
{{- if not .Values.secrets.keys.paymendApiToken }}
{{- fail "secrets.keys.paymendApiToken must name the Secret's key holding PAYMEND_API_TOKEN (the worker requires it)" }}
{{- end }}
{{- if .Values.secrets.create }}
{{- $_ := required "secrets.create=true needs secrets.values.paymendApiToken (pass it at install: --set-file secrets.values.paymendApiToken=...)" .Values.secrets.values.paymendApiToken }}
{{- end }}
{{- if not .Values.config.KAFKA_BOOTSTRAP }}
{{- fail "config.KAFKA_BOOTSTRAP is required (host:port of your Kafka brokers)" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.tls) }}
{{- fail "ingress.enabled needs ingress.tls: Paymend delivers webhooks over HTTPS only" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "ingress.enabled needs ingress.host" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.egress.kafka.cidrs) }}
{{- fail "networkPolicy.enabled needs networkPolicy.egress.kafka.cidrs (the worker could not reach Kafka)" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.egress.paymend.cidrs) }}
{{- fail "networkPolicy.enabled needs networkPolicy.egress.paymend.cidrs (the worker could not reach Paymend)" }}
{{- end }}
{{- end }}
