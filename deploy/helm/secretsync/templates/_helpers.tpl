{{/* The chart name. */}}
{{- define "secretsync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name when it contains the chart name, else "<release>-<chart>". */}}
{{- define "secretsync.fullname" -}}
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

{{/* Namespace of the namespaced objects. */}}
{{- define "secretsync.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* Name of the operator's objects (Deployment, ClusterRole, ...), as in deploy/. */}}
{{- define "secretsync.operatorName" -}}
{{- printf "%s-operator" (include "secretsync.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "secretsync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "secretsync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "secretsync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "secretsync.name" . }}-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "secretsync.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: secretsync
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "secretsync.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Lease name: explicit, else the binary's default for the class and scope. */}}
{{- define "secretsync.leaseName" -}}
{{- if .Values.leaderElectionID }}
{{- .Values.leaderElectionID }}
{{- else }}
{{- $parts := list "secretsync-operator" }}
{{- with .Values.controllerClass }}{{ $parts = append $parts . }}{{ end }}
{{- with .Values.scopedNamespace }}{{ $parts = append $parts . }}{{ end }}
{{- join "-" $parts }}
{{- end }}
{{- end }}
