{{/*
The pod template shared by the producer and the consumer: one image, the component's command, the settings file
from the operator's ConfigMap, the admin token, OTEL_* and the restricted security context.
Call with (dict "context" $ "component" "producer" "values" .Values.producer "port" 8000).
*/}}
{{- define "backpressure-lab.servicePod" -}}
{{- $ := .context -}}
metadata:
  labels:
    {{- include "backpressure-lab.labels" (dict "context" $ "component" .component) | nindent 4 }}
  annotations:
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ .port | quote }}
    prometheus.io/path: /metrics
spec:
  # The services never call the Kubernetes API.
  automountServiceAccountToken: false
  securityContext:
    {{- include "backpressure-lab.podSecurityContext" $ | nindent 4 }}
  terminationGracePeriodSeconds: 10
  containers:
    - name: {{ .component }}
      image: {{ include "backpressure-lab.image" (dict "context" $ "image" .values.image) | quote }}
      imagePullPolicy: {{ .values.image.pullPolicy }}
      command: ["bplab-{{ .component }}"]
      ports:
        - name: http
          containerPort: {{ .port }}
          protocol: TCP
      env:
        - name: BPLAB_HOST
          value: "0.0.0.0"
        - name: BPLAB_PORT
          value: {{ .port | quote }}
        - name: BPLAB_SETTINGS_FILE
          value: /etc/backpressure-lab/settings.yaml
        - name: BPLAB_ADMIN_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ include "backpressure-lab.adminSecret" $ }}
              key: token
        {{- if eq .component "producer" }}
        - name: BPLAB_CONSUMER_URL
          value: {{ printf "http://%s:%v" (include "backpressure-lab.componentName" (dict "context" $ "component" "consumer")) $.Values.consumer.service.port | quote }}
        {{- end }}
        {{- include "backpressure-lab.otelEnv" (dict "context" $ "component" .component) | nindent 8 }}
        {{- with .values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      livenessProbe:
        {{- toYaml .values.probes.liveness | nindent 8 }}
      readinessProbe:
        {{- toYaml .values.probes.readiness | nindent 8 }}
      # A leaving pod stays in its Service's endpoints until kube-proxy has heard that it is terminating: it keeps
      # serving for 3 s before its SIGTERM, so a client (a learner's curl, the producer's sends) is not routed to a
      # closed port while the consumers scale down or a rollout replaces a pod. 3 s + the services' 5 s of graceful
      # stop fit inside terminationGracePeriodSeconds.
      lifecycle:
        preStop:
          sleep:
            seconds: 3
      resources:
        {{- toYaml .values.resources | nindent 8 }}
      securityContext:
        {{- include "backpressure-lab.containerSecurityContext" $ | nindent 8 }}
      volumeMounts:
        - name: settings
          mountPath: /etc/backpressure-lab
          readOnly: true
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: settings
      configMap:
        name: {{ include "backpressure-lab.settingsConfigMap" $ }}
        optional: true
    - name: tmp
      emptyDir:
        sizeLimit: 16Mi
  {{- with .values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* OTEL_* for a component: the chart's Jaeger unless tracing.endpoint names another collector. Without either
there is no collector to export to, so the SDK is disabled rather than left retrying a Service that does not exist. */}}
{{- define "backpressure-lab.otelEnv" -}}
{{- $ := .context -}}
{{- if and $.Values.tracing.enabled (or $.Values.tracing.endpoint $.Values.jaeger.enabled) }}
- name: OTEL_SERVICE_NAME
  value: {{ .component }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ default (printf "http://%s:4318" (include "backpressure-lab.componentName" (dict "context" $ "component" "jaeger"))) $.Values.tracing.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: http/protobuf
- name: OTEL_TRACES_SAMPLER
  value: {{ $.Values.tracing.sampler | quote }}
{{- with $.Values.tracing.samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ . | quote }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=%s,deployment.environment=lab" $.Release.Namespace | quote }}
{{- else }}
- name: OTEL_SDK_DISABLED
  value: "true"
{{- end }}
{{- end }}
