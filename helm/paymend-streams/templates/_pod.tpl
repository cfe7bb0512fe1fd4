{{/*
The pod template shared by the StatefulSet and the Deployment.
*/}}
{{- define "paymend-streams.podTemplate" -}}
metadata:
  annotations:
    checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- if .Values.secrets.create }}
    checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  labels:
    {{- include "paymend-streams.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  serviceAccountName: {{ include "paymend-streams.serviceAccountName" . }}
  automountServiceAccountToken: false
  # faust reads WEB_PORT, BROKER_URL, APP_STORE, ... by itself; Service links would inject
  # look-alike variables (<SERVICE>_PORT, ...) into every pod.
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: worker
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command:
        {{- toYaml .Values.command | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      ports:
        - name: http
          containerPort: {{ include "paymend-streams.webPort" . }}
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "paymend-streams.fullname" . }}
      {{- $names := include "paymend-streams.secretEnvNames" . | fromYaml }}
      {{- $secretName := include "paymend-streams.secretName" . }}
      env:
        {{- if and (eq .Values.workload.kind "StatefulSet") .Values.workload.staticMembership }}
        # static consumer-group membership: the stable pod name (<release>-<ordinal>)
        - name: KAFKA_GROUP_INSTANCE_ID
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- end }}
        {{- range $key := list "paymendApiToken" "kafkaSaslPassword" "webhookToken" "webhookHmacSecrets" }}
        {{- $secretKey := index $.Values.secrets.keys $key }}
        {{- if $secretKey }}
        - name: {{ index $names $key }}
          valueFrom:
            secretKeyRef:
              name: {{ $secretName }}
              key: {{ $secretKey }}
              optional: {{ ne $key "paymendApiToken" }}
        {{- end }}
        {{- end }}
      startupProbe:
        httpGet:
          path: /live
          port: http
        {{- toYaml .Values.probes.startup | nindent 8 }}
      livenessProbe:
        httpGet:
          path: /live
          port: http
        {{- toYaml .Values.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /ready
          port: http
        {{- toYaml .Values.probes.readiness | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        - name: data
          mountPath: {{ include "paymend-streams.dataDir" . }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
    {{- if eq .Values.workload.kind "Deployment" }}
    - name: data
      emptyDir:
        sizeLimit: {{ .Values.workload.emptyDirSizeLimit }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
