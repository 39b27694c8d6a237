{{/* Chart name, truncated to 63 characters (DNS-1123 label). */}}
{{- define "backpressure-lab.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, with the chart name unless the release already contains it. */}}
{{- define "backpressure-lab.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "backpressure-lab.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels. Call with (dict "context" $ "component" "producer"). */}}
{{- define "backpressure-lab.labels" -}}
helm.sh/chart: {{ include "backpressure-lab.chart" .context }}
{{ include "backpressure-lab.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: backpressure-lab
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
{{- end }}

{{/* Selector labels: name, instance and component only (they must never change across upgrades). */}}
{{- define "backpressure-lab.selectorLabels" -}}
app.kubernetes.io/name: {{ include "backpressure-lab.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Name of a component's objects: <fullname>-<component>, 63 characters at most. */}}
{{- define "backpressure-lab.componentName" -}}
{{- printf "%s-%s" (include "backpressure-lab.fullname" .context) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The image of a component: its own repository/tag, the tag defaulting to the chart's appVersion. */}}
{{- define "backpressure-lab.image" -}}
{{- printf "%s:%s" .image.repository (default .context.Chart.AppVersion .image.tag) }}
{{- end }}

{{/* The BackpressureConfig the chart creates, which the examples under examples/ configure. */}}
{{- define "backpressure-lab.configName" -}}
{{- .Values.config.name }}
{{- end }}

{{/*
Whether a monitoring integration is wired: "true" or "". Call with (dict "context" $ "key" "serviceMonitor" "kind"
"ServiceMonitor"). `auto` follows what the cluster serves; an explicit `true` without the API stops the install with a
hint instead of a raw "no matches for kind".
*/}}
{{- define "backpressure-lab.integration" -}}
{{- $enabled := index .context.Values .key "enabled" -}}
{{- $api := printf "monitoring.coreos.com/v1/%s" .kind -}}
{{- $served := .context.Capabilities.APIVersions.Has $api -}}
{{- if eq (toString $enabled) "auto" -}}
{{- if $served }}true{{ end -}}
{{- else if $enabled -}}
{{- if not $served -}}
{{- fail (printf "%s.enabled=true, but this cluster does not serve %s: install kube-prometheus-stack (or prometheus-operator's CRDs) first, or set %s.enabled=auto to wire it only when it is there" .key $api .key) -}}
{{- end -}}
true
{{- end -}}
{{- end }}

{{/* ServiceAccount of the operator. */}}
{{- define "backpressure-lab.operatorServiceAccount" -}}
{{- default (include "backpressure-lab.componentName" (dict "context" . "component" "operator")) .Values.operator.serviceAccount.name }}
{{- end }}

{{/* ConfigMap that holds the live settings file (written by the operator, mounted by the pods). */}}
{{- define "backpressure-lab.settingsConfigMap" -}}
{{- include "backpressure-lab.componentName" (dict "context" . "component" "settings") }}
{{- end }}

{{/* Secret holding the admin bearer token. */}}
{{- define "backpressure-lab.adminSecret" -}}
{{- default (include "backpressure-lab.componentName" (dict "context" . "component" "admin")) .Values.adminToken.existingSecret }}
{{- end }}

{{/* Restricted pod-security context, shared by every pod of the chart. */}}
{{- define "backpressure-lab.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "backpressure-lab.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end }}
