{{/*
Shared helpers. Engine differences live in values.engineDefaults (data) and in the
"mil.engine.*" helpers below (behaviour); no other template branches on the engine.
*/}}

{{/*
Identity. Catalog entries set serviceName, serviceCatalog and namespace; an ad-hoc render
(`helm template`, `helm lint`, `helm install`) falls back to the release's name and namespace,
as charts conventionally do.
*/}}
{{- define "mil.name" -}}
{{- .Values.serviceName | default .Release.Name -}}
{{- end -}}

{{- define "mil.namespace" -}}
{{- .Values.namespace | default .Release.Namespace -}}
{{- end -}}

{{- define "mil.catalog" -}}
{{- .Values.serviceCatalog | default (include "mil.name" .) -}}
{{- end -}}

{{/*
The model, as YAML. model.id and model.revision are required with no defaults: every render
without them fails with these messages, except `helm lint`, which reports a missing
`required` value as a warning, so the chart lints with its own values.yaml (that has no
model on purpose). The token limits are optional: unset, the engine derives them.
*/}}
{{- define "mil.model" -}}
{{- $model := .Values.model | default dict -}}
{{- $_ := required "model.id is required (no default): the Hugging Face model id, e.g. org/name" $model.id -}}
{{- $_ := required "model.revision is required (no default): a branch, tag or 40-hex commit of the model" $model.revision -}}
{{- if and $model.maxInputTokens $model.maxTotalTokens (ge (int $model.maxInputTokens) (int $model.maxTotalTokens)) -}}
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

{{/*
The engine image: repository:tag, or repository@digest when pinned by digest. A digest in
container.image wins; engineDefaults' digest applies only to the engine's default image.
*/}}
{{- define "mil.image" -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
{{- $image := .Values.container.image -}}
{{- $repo := $image.repository | default $engine.image.repository -}}
{{- $tag := $image.tag | default $engine.image.tag -}}
{{- $digest := $image.digest -}}
{{- if and (not $digest) (not $image.repository) (not $image.tag) -}}
{{- $digest = $engine.image.digest -}}
{{- end -}}
{{- include "mil.imageRef" (dict "repository" $repo "tag" $tag "digest" $digest) -}}
{{- end -}}

{{/* repository@digest when a digest is given, else repository:tag. */}}
{{- define "mil.imageRef" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}
{{- end -}}

{{- define "mil.imageTag" -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
{{- .Values.container.image.tag | default $engine.image.tag -}}
{{- end -}}

{{- define "mil.selectorLabels" -}}
app: {{ include "mil.name" . }}
{{- end -}}

{{/*
Labels of the pod template: no version labels, so a chart version bump or an image tag label
never restarts a GPU pod by itself (the image reference in the spec still does).
*/}}
{{- define "mil.podLabels" -}}
{{ include "mil.selectorLabels" . }}
catalog: {{ include "mil.catalog" . }}
environment: {{ .Values.environment }}
workload-type: ml-inference-load
app.kubernetes.io/name: {{ include "mil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: inference
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of every object: the pod's, plus the image tag and the chart version.
A tag may start or end with '_', '.' or '-', which a label value may not: those ends are cut. */}}
{{- define "mil.labels" -}}
{{ include "mil.podLabels" . }}
app.kubernetes.io/version: {{ include "mil.imageTag" . | trunc 63 | regexReplaceAll "^[^A-Za-z0-9]+|[^A-Za-z0-9]+$" "" | quote }}
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
{{- $secretNames := concat (list "HF_TOKEN" "HUGGING_FACE_HUB_TOKEN" "HF_API_TOKEN" $engine.hfTokenEnv) ($engine.hfTokenAliases | default list) -}}
{{- range $_, $defaults := .Values.engineDefaults }}{{ with $defaults.apiKeyEnv }}{{ $secretNames = append $secretNames . }}{{ end }}{{ end -}}
{{- $seen := dict -}}
{{- range .Values.container.environment -}}
{{- if hasKey $seen .name -}}
{{- fail (printf "container.environment: variable %s is defined twice" .name) -}}
{{- end -}}
{{- if has .name $reserved -}}
{{- fail (printf "container.environment: %s is set by the chart from the model and gpu values; change those instead" .name) -}}
{{- end -}}
{{- if has .name $secretNames -}}
{{- fail (printf "container.environment: %s holds a credential; put it in container.secrets (a Vault path), never as a plain value" .name) -}}
{{- end -}}
{{- if and (eq .name "QUANTIZE") (eq $.Values.engine "tgi") ($.Values.model | default dict).quantization -}}
{{- fail "container.environment: QUANTIZE is set by the chart from model.quantization; set only one of them" -}}
{{- end -}}
{{- $_ := set $seen .name true -}}
{{- end -}}
{{- range .Values.container.secrets -}}
{{- if hasKey $seen .name -}}
{{- fail (printf "container.secrets: variable %s is defined twice (secrets and environment share one namespace)" .name) -}}
{{- end -}}
{{- $_ := set $seen .name true -}}
{{- end -}}
{{- if include "mil.hfTokenSecret" . -}}
{{- range ($engine.hfTokenAliases | default list) -}}
{{- if hasKey $seen . -}}
{{- fail (printf "container: %s is set by the chart from the Hugging Face token secret (%s); remove it" . $engine.hfTokenEnv) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range .Values.container.extraArgs -}}
{{- if and $engine.shutdownTimeoutFlag (or (eq . $engine.shutdownTimeoutFlag) (hasPrefix (printf "%s=" $engine.shutdownTimeoutFlag) .)) -}}
{{- fail (printf "container.extraArgs: %s is set from drain.shutdownTimeoutSeconds; set that instead" $engine.shutdownTimeoutFlag) -}}
{{- end -}}
{{- if or (eq . "--api-key") (hasPrefix "--api-key=" .) -}}
{{- fail (printf "container.extraArgs: --api-key would put the key in the manifest in plain text; put it in container.secrets as %s" ($engine.apiKeyEnv | default "a secret")) -}}
{{- end -}}
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
{{- with $model.maxInputTokens }}
- name: MAX_INPUT_TOKENS
  value: {{ . | quote }}
{{- end }}
{{- with $model.maxTotalTokens }}
- name: MAX_TOTAL_TOKENS
  value: {{ . | quote }}
{{- end }}
- name: NUM_SHARD
  value: {{ .Values.gpu.count | quote }}
- name: HUGGINGFACE_HUB_CACHE
  value: {{ $engine.cacheDir | quote }}
{{- with $model.quantization }}
- name: QUANTIZE
  value: {{ . | quote }}
{{- end }}
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
  {{- with $model.maxTotalTokens }}
  - --max-model-len
  - {{ . | quote }}
  {{- end }}
  - --tensor-parallel-size
  - {{ .Values.gpu.count | quote }}
  - --gpu-memory-utilization
  - {{ $engine.gpuMemoryUtilization | default "0.90" | quote }}
  {{- with $model.quantization }}
  - --quantization
  - {{ . | quote }}
  {{- end }}
  {{- with $engine.shutdownTimeoutFlag }}
  # Drain on SIGTERM: no new requests, in-flight ones finish for up to this many seconds.
  - {{ . }}
  - {{ $.Values.drain.shutdownTimeoutSeconds | quote }}
  {{- end }}
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

{{/*
A probe in the platform's shape: http (an empty path means the engine's endpoint) or exec
of the executable at path.
*/}}
{{- define "mil.probe" -}}
{{- $probe := .probe -}}
{{- if eq $probe.type "exec" }}
exec:
  command:
    - {{ required "an exec probe runs the executable at its path: set path" $probe.path | quote }}
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


{{/* The secret entry that carries the Hugging Face token, as YAML (empty when there is none). */}}
{{- define "mil.hfTokenSecret" -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
{{- range .Values.container.secrets -}}
{{- if eq .name $engine.hfTokenEnv -}}
{{- toYaml . -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The secret entry that turns on the engine's own API key, as YAML (empty when off). */}}
{{- define "mil.apiKeySecret" -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
{{- if $engine.apiKeyEnv -}}
{{- range .Values.container.secrets -}}
{{- if eq .name $engine.apiKeyEnv -}}
{{- toYaml . -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Default path of a "model loaded" probe (startup, readiness): the engine's own endpoint, or
with the engine's API key on, the key-free path that still answers only once loaded.
Call with (dict "root" $ "path" <the engine's path>).
*/}}
{{- define "mil.engine.loadedPath" -}}
{{- $engine := include "mil.engine" .root | fromYaml -}}
{{- if and (include "mil.apiKeySecret" .root) $engine.apiKeyProbePath -}}
{{- $engine.apiKeyProbePath -}}
{{- else -}}
{{- .path -}}
{{- end -}}
{{- end -}}

{{/* In-cluster DNS name of the Service: what every router points at. */}}
{{- define "mil.serviceFQDN" -}}
{{- printf "%s.%s.svc.%s" (include "mil.name" .) (include "mil.namespace" .) (.Values.routing.clusterDomain | default "cluster.local") -}}
{{- end -}}

{{/* "true" when this environment registers the model with the routers. */}}
{{- define "mil.routing.on" -}}
{{- if .Values.routing.enabled -}}true{{- end -}}
{{- end -}}

{{/*
"true" unless the model is disabled in this environment (serving.enabled: false): then nothing
the chart renders serves it to clients.
*/}}
{{- define "mil.serving.on" -}}
{{- if not (eq (toString ((.Values.serving | default dict).enabled)) "false") -}}true{{- end -}}
{{- end -}}

{{- define "mil.inferencePool.name" -}}{{ include "mil.name" . }}-pool{{- end -}}
{{- define "mil.inferencePool.routeName" -}}{{ include "mil.name" . }}-pool-route{{- end -}}

{{/*
The platform's inference-gateway release for this pool (one per model): the value, else
epp-<serviceName>, the name the platform's guide gives a model's release. Its chart names the
endpoint picker <release>-inference-gateway-epp and the internal Gateway
<release>-inference-gateway.
*/}}
{{- define "mil.inferenceGateway.release" -}}
{{- .Values.routing.inferencePool.gatewayRelease | default (printf "epp-%s" (include "mil.name" .)) -}}
{{- end -}}

{{- define "mil.inferenceGateway.name" -}}
{{- printf "%s-inference-gateway" (include "mil.inferenceGateway.release" .) -}}
{{- end -}}

{{- define "mil.inferencePool.eppService" -}}
{{- printf "%s-inference-gateway-epp" (include "mil.inferenceGateway.release" .) -}}
{{- end -}}

{{/*
Refuse option combinations that would deploy something broken; each message says why.
values.schema.json checks single values; these rules span several.
*/}}
{{- define "mil.checkOptions" -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
{{- $routing := .Values.routing -}}
{{- if and $routing.inferencePool.enabled (not $engine.endpointPickerCompatible) -}}
{{- fail (printf "routing.inferencePool.enabled: an InferencePool needs an engine the endpoint picker can schedule on, and %s does not export the model-server metrics it reads (queue length and KV-cache utilisation in the vLLM format); use engine vllm or turn the InferencePool off" .Values.engine) -}}
{{- end -}}
{{- if and $routing.rateLimit.enabled (not $routing.envoyAIGateway.enabled) -}}
{{- fail "routing.rateLimit.enabled: the rate limit applies to the model's route on the platform's Envoy AI Gateway; turn on routing.envoyAIGateway.enabled as well" -}}
{{- end -}}
{{- if $routing.inferencePool.enabled -}}
{{- $picker := include "mil.inferencePool.eppService" . -}}
{{- if gt (len $picker) 63 -}}
{{- fail (printf "routing.inferencePool.gatewayRelease: the endpoint picker's Service name %s (the inference-gateway release %s plus -inference-gateway-epp) is longer than 63 characters; name a release of at most 41 characters" $picker (include "mil.inferenceGateway.release" .)) -}}
{{- end -}}
{{- end -}}
{{- $strategy := .Values.strategy -}}
{{- $surge := toString ($strategy.maxSurge | default 0) -}}
{{- if and (eq $strategy.type "RollingUpdate") (eq $surge "0" "0%") (eq (toString ($strategy.maxUnavailable | default 0)) "0" "0%") -}}
{{- fail "strategy: maxSurge and maxUnavailable cannot both be 0 (the rollout could never progress); the default maxSurge 0, maxUnavailable 1 needs no spare GPU" -}}
{{- end -}}
{{- if and .Values.modelCache.enabled (eq .Values.modelCache.accessMode "ReadWriteOnce") -}}
{{- $many := or (gt (int .Values.replicas) 1) .Values.autoscaling.enabled (and (eq $strategy.type "RollingUpdate") (not (eq $surge "0" "0%"))) -}}
{{- if $many -}}
{{- fail "modelCache.accessMode: ReadWriteOnce attaches the cache to one node, but more than one pod can run (replicas > 1, autoscaling or maxSurge > 0) and the others would wait forever for the volume; use ReadWriteMany" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (not .Values.autoscaling.prometheus.serverAddress) -}}
{{- fail "autoscaling.prometheus.serverAddress: autoscaling needs a Prometheus query endpoint (a Prometheus in agent mode cannot be queried, and KEDA would read no queue at all)" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) -}}
{{- fail (printf "autoscaling.maxReplicas (%v) must not be lower than autoscaling.minReplicas (%v)" .Values.autoscaling.maxReplicas .Values.autoscaling.minReplicas) -}}
{{- end -}}
{{- end -}}

{{- define "mil.modelCacheClaim" -}}
{{- .Values.modelCache.existingClaim | default (printf "%s-model-cache" (include "mil.name" .)) -}}
{{- end -}}

{{/*
Namespaces whose pods the NetworkPolicy lets reach the engine, one per line: this service's
own (its Gateway's pods, the `helm test` pod, the endpoint picker), the platform's routers'
when routing is on (LiteLLM's, and the Envoy proxies' for the AI gateway or the internal
gateway), monitoring, and any extra ones.
*/}}
{{- define "mil.networkPolicy.namespaces" -}}
{{- $policy := .Values.networkPolicy -}}
{{- $routing := .Values.routing -}}
{{- $names := list (include "mil.namespace" .) -}}
{{- if $routing.enabled -}}
{{- with $policy.litellmNamespace }}{{ $names = append $names . }}{{ end -}}
{{- if or $routing.envoyAIGateway.enabled $routing.inferencePool.enabled -}}
{{- with $policy.envoyProxyNamespace }}{{ $names = append $names . }}{{ end -}}
{{- end -}}
{{- end -}}
{{- with $policy.monitoringNamespace }}{{ $names = append $names . }}{{ end -}}
{{- $names = concat $names ($policy.extraNamespaces | default list) -}}
{{- $names | uniq | join "\n" -}}
{{- end -}}

{{/*
Seconds the engine may take after SIGTERM: its own fixed drain (TGI) or the timeout passed
as its flag (vLLM).
*/}}
{{- define "mil.engine.shutdownSeconds" -}}
{{- $engine := include "mil.engine" . | fromYaml -}}
{{- if $engine.shutdownTimeoutFlag -}}
{{- .Values.drain.shutdownTimeoutSeconds -}}
{{- else -}}
{{- $engine.shutdownSeconds | default 0 -}}
{{- end -}}
{{- end -}}

{{/* terminationGracePeriodSeconds: the value, refused below preStop + shutdown, else computed. */}}
{{- define "mil.gracePeriodSeconds" -}}
{{- $needed := add .Values.drain.preStopSeconds (include "mil.engine.shutdownSeconds" . | int) -}}
{{- $set := .Values.terminationGracePeriodSeconds -}}
{{- if kindIs "invalid" $set -}}
{{- add $needed .Values.drain.marginSeconds -}}
{{- else if lt (int $set) (int $needed) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be at least drain.preStopSeconds + the engine's shutdown time (%v): the kubelet would kill requests mid-drain" $set $needed) -}}
{{- else -}}
{{- $set -}}
{{- end -}}
{{- end -}}

{{/* Seconds from pod creation to the first ready answer the startup probe allows. */}}
{{- define "mil.startupBudgetSeconds" -}}
{{- $probe := .Values.container.startupProbe -}}
{{- if $probe.enabled -}}
{{- add ($probe.initialDelaySeconds | default 0) (mul ($probe.periodSeconds | default 10) ($probe.failureThreshold | default 3)) -}}
{{- else -}}
{{- 0 -}}
{{- end -}}
{{- end -}}

{{/* progressDeadlineSeconds: the value, refused below the startup budget, else computed. */}}
{{- define "mil.progressDeadlineSeconds" -}}
{{- $budget := include "mil.startupBudgetSeconds" . | int -}}
{{- $set := .Values.progressDeadlineSeconds -}}
{{- if kindIs "invalid" $set -}}
{{- $readiness := .Values.container.readinessProbe.periodSeconds | default 10 -}}
{{- add $budget $readiness .Values.rollout.imagePullSeconds -}}
{{- else if lt (int $set) $budget -}}
{{- fail (printf "progressDeadlineSeconds (%v) must be at least the startup probe's budget (%v s): a slow but healthy model load would be reported as a failed rollout" $set $budget) -}}
{{- else -}}
{{- $set -}}
{{- end -}}
{{- end -}}

{{/*
A Kubernetes quantity in base units (bytes, cores), as a float: decimal and binary suffixes
and millis. Values arrive checked by values.schema.json (digits, an optional fraction, a
suffix).
*/}}
{{- define "mil.quantity" -}}
{{- $text := toString . -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $text -}}
{{- $suffix := trimPrefix $number $text -}}
{{- $scale := dict "" 1.0 "m" 0.001 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "E" 1000000000000000000.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Ei" 1152921504606846976.0 -}}
{{- mulf (float64 $number) (index $scale $suffix) -}}
{{- end -}}

{{/*
Requests the API server and the kubelet accept: each request at most its limit (the API
server refuses the pod otherwise), and lower bounds below which no engine starts.
*/}}
{{- define "mil.checkResources" -}}
{{- $resources := .Values.container.resources -}}
{{- range $name := list "cpu" "memory" -}}
{{- $request := index $resources.requests $name -}}
{{- $limit := index $resources.limits $name -}}
{{- if and $request $limit (gt (include "mil.quantity" $request | float64) (include "mil.quantity" $limit | float64)) -}}
{{- fail (printf "container.resources.requests.%s (%v) must not exceed container.resources.limits.%s (%v): the API server refuses the pod" $name $request $name $limit) -}}
{{- end -}}
{{- end -}}
{{- if lt (include "mil.quantity" $resources.requests.cpu | float64) 0.5 -}}
{{- fail (printf "container.resources.requests.cpu (%v) must be at least 500m: tokenisation and the HTTP server need a core's share" $resources.requests.cpu) -}}
{{- end -}}
{{- if lt (include "mil.quantity" $resources.requests.memory | float64) 1073741824.0 -}}
{{- fail (printf "container.resources.requests.memory (%v) must be at least 1Gi: the engine stages the model in host memory" $resources.requests.memory) -}}
{{- end -}}
{{- end -}}

{{/* The container's requests: the values (the platform's ContainerResourceProperties shape), plus an ephemeral-storage request for an emptyDir cache, sized to it. */}}
{{- define "mil.requests" -}}
{{- $requests := deepCopy .Values.container.resources.requests -}}
{{- if and (not .Values.modelCache.enabled) (not (index $requests "ephemeral-storage")) -}}
{{- $_ := set $requests "ephemeral-storage" .Values.modelStorage.sizeLimit -}}
{{- end -}}
{{- toYaml $requests -}}
{{- end -}}

{{/* Required node affinity on the GPU product label when gpu.type is set (empty otherwise). */}}
{{- define "mil.gpuAffinity" -}}
{{- $gpu := .Values.gpu -}}
{{- if $gpu.type -}}
{{- $products := index ($gpu.products | default dict) $gpu.type -}}
{{- if not $products -}}
{{- fail (printf "gpu.type %s has no entry in gpu.products: list the %s values of its nodes" $gpu.type $gpu.productLabel) -}}
{{- end -}}
nodeAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    nodeSelectorTerms:
      - matchExpressions:
          - key: {{ $gpu.productLabel | quote }}
            operator: In
            values:
              {{- range $products }}
              - {{ . | quote }}
              {{- end }}
{{- end -}}
{{- end -}}
