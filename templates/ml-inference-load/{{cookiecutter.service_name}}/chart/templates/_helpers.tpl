{{/*
Shared helpers. Engine differences live in values.engineDefaults (data) and in the
"mil.engine.*" helpers below (behaviour); no other template branches on the engine.
*/}}

{{- define "mil.name" -}}
{{- required "serviceName is required: the DNS-1123 name of this inference service" .Values.serviceName -}}
{{- end -}}

{{- define "mil.namespace" -}}
{{- required "namespace is required: the namespace this service is deployed to" .Values.namespace -}}
{{- end -}}

{{- define "mil.catalog" -}}
{{- required "serviceCatalog is required: the service catalog this workload belongs to" .Values.serviceCatalog -}}
{{- end -}}

{{- define "mil.model" -}}
{{- $model := .Values.model | default dict -}}
{{- $_ := required "model.id is required (no default): the Hugging Face model id, e.g. org/name" $model.id -}}
{{- $_ := required "model.revision is required (no default): a branch, tag or 40-hex commit of the model" $model.revision -}}
{{- $_ := required "model.maxInputTokens is required" $model.maxInputTokens -}}
{{- $_ := required "model.maxTotalTokens is required" $model.maxTotalTokens -}}
{{- if ge (int $model.maxInputTokens) (int $model.maxTotalTokens) -}}
{{- fail (printf "model.maxInputTokens (%v) must be lower than model.maxTotalTokens (%v)" $model.maxInputTokens $model.maxTotalTokens) -}}
{{- end -}}
{{- toYaml $model -}}
{{- end -}}

{{- define "mil.servedModelName" -}}
{{- $model := .Values.model | default dict -}}
{{- $model.servedModelName | default $model.id -}}
{{- end -}}

{{- define "mil.engine" -}}
{{- $engine := index .Values.engineDefaults .Values.engine -}}
{{- if not $engine -}}
{{- fail (printf "engine %q has no entry in engineDefaults" .Values.engine) -}}
{{- end -}}
{{- toYaml $engine -}}
{{- end -}}

{{- define "mil.image" -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
{{- $repo := .Values.container.image.repository | default $engine.image.repository -}}
{{- $tag := .Values.container.image.tag | default $engine.image.tag -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{- define "mil.imageTag" -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
{{- .Values.container.image.tag | default $engine.image.tag -}}
{{- end -}}

{{- define "mil.selectorLabels" -}}
app: {{ include "mil.name" . }}
{{- end -}}

{{- define "mil.labels" -}}
{{ include "mil.selectorLabels" . }}
catalog: {{ include "mil.catalog" . }}
environment: {{ .Values.environment }}
workload-type: ml-inference-load
app.kubernetes.io/name: {{ include "mil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: inference
app.kubernetes.io/version: {{ include "mil.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* Secret names follow the platform's conventions. */}}
{{- define "mil.secretsName" -}}{{ include "mil.name" . }}-secrets{{- end -}}
{{- define "mil.tlsSecretName" -}}{{ include "mil.name" . }}-tls-cert{{- end -}}
{{- define "mil.pullSecretName" -}}{{ include "mil.name" . }}-ghcr-docker-config{{- end -}}
{{- define "mil.gatewayName" -}}{{ include "mil.name" . }}-gateway{{- end -}}

{{/*
Reject what values.schema.json cannot express: duplicate env var names, and variables the
chart sets itself (a duplicate would silently shadow the engine configuration).
*/}}
{{- define "mil.checkEnvironment" -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
{{- $reserved := list "PORT" "MODEL_ID" "REVISION" "MAX_INPUT_TOKENS" "MAX_INPUT_LENGTH" "MAX_TOTAL_TOKENS" "NUM_SHARD" "HF_HOME" "HUGGINGFACE_HUB_CACHE" -}}
{{- $seen := dict -}}
{{- range .Values.container.environment -}}
{{- if hasKey $seen .name -}}
{{- fail (printf "container.environment: variable %s is defined twice" .name) -}}
{{- end -}}
{{- if has .name $reserved -}}
{{- fail (printf "container.environment: %s is set by the chart from the model and gpu values; change those instead" .name) -}}
{{- end -}}
{{- $_ := set $seen .name true -}}
{{- end -}}
{{- range .Values.container.secrets -}}
{{- if hasKey $seen .name -}}
{{- fail (printf "container.secrets: variable %s is defined twice (secrets and environment share one namespace)" .name) -}}
{{- end -}}
{{- $_ := set $seen .name true -}}
{{- end -}}
{{- $keys := dict -}}
{{- range .Values.container.secrets -}}
{{- if hasKey $keys .secretKey -}}
{{- fail (printf "container.secrets: secretKey %s is used twice" .secretKey) -}}
{{- end -}}
{{- $_ := set $keys .secretKey true -}}
{{- end -}}
{{- end -}}

{{/* Environment variables that configure the engine. */}}
{{- define "mil.engine.env" -}}
{{- $model := include "mil.model" . | fromYaml -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
- name: HF_HOME
  value: {{ $engine.cacheDir | quote }}
{{- if eq .Values.engine "tgi" }}
- name: MODEL_ID
  value: {{ $model.id | quote }}
- name: REVISION
  value: {{ $model.revision | quote }}
- name: PORT
  value: {{ $engine.port | quote }}
- name: MAX_INPUT_TOKENS
  value: {{ $model.maxInputTokens | quote }}
- name: MAX_TOTAL_TOKENS
  value: {{ $model.maxTotalTokens | quote }}
- name: NUM_SHARD
  value: {{ .Values.gpu.count | quote }}
- name: HUGGINGFACE_HUB_CACHE
  value: {{ $engine.cacheDir | quote }}
{{- end }}
{{- end -}}

{{/* Command and arguments of the engine container. */}}
{{- define "mil.engine.command" -}}
{{- $model := include "mil.model" . | fromYaml -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
{{- if eq .Values.engine "vllm" }}
command:
  - vllm
  - serve
args:
  - {{ $model.id | quote }}
  - --revision
  - {{ $model.revision | quote }}
  - --served-model-name
  - {{ include "mil.servedModelName" . | quote }}
  - --host
  - "0.0.0.0"
  - --port
  - {{ $engine.port | quote }}
  - --max-model-len
  - {{ $model.maxTotalTokens | quote }}
  - --tensor-parallel-size
  - {{ .Values.gpu.count | quote }}
  - --gpu-memory-utilization
  - {{ $engine.gpuMemoryUtilization | default "0.90" | quote }}
  {{- range .Values.container.extraArgs }}
  - {{ . | quote }}
  {{- end }}
{{- else if .Values.container.extraArgs }}
args:
  {{- range .Values.container.extraArgs }}
  - {{ . | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* A probe in the platform's shape; an empty path means the engine's endpoint. */}}
{{- define "mil.probe" -}}
{{- $probe := .probe -}}
{{- if eq $probe.type "exec" }}
exec:
  command:
    {{- toYaml $probe.command | nindent 4 }}
{{- else }}
httpGet:
  path: {{ $probe.path | default .defaultPath | quote }}
  port: {{ $probe.port | default "http" }}
  scheme: {{ $probe.scheme | default "HTTP" }}
{{- end }}
initialDelaySeconds: {{ $probe.initialDelaySeconds | default 0 }}
periodSeconds: {{ $probe.periodSeconds | default 10 }}
timeoutSeconds: {{ $probe.timeoutSeconds | default 5 }}
successThreshold: {{ $probe.successThreshold | default 1 }}
failureThreshold: {{ $probe.failureThreshold | default 3 }}
{{- end -}}
