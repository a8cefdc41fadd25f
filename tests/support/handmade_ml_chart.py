"""A hand-made ML_INFERENCE_LOAD (chart 0.0.3 and interface) as a platform team might have
published it before the scaffolder's, for ``schema_repo_fixture.fixture_files(handmade=True)``.

Written for these tests from the facts in the platform reference (templates deployment,
service, gateway, httproute, ingressCert and externalSecret; values keyed
``inference.maxInputLength`` and ``container.replicas``; maintainers of its own; placeholder
``model.id`` / ``model.revision`` so it lints alone), kept small. It passes the repository's
own checks: ``helm lint`` with its values.yaml alone and with its ci file, the ajv values
check, and ``tsc`` with the interface in the unions. An ``ollama-inference-load`` chart
comes with it, as in the real repository.
"""

from __future__ import annotations

import json
import textwrap

CHART = "charts/ml-inference-load"
MODULE = "src/workloadChartValues/mlInferenceLoad.ts"

CHART_YAML = """\
apiVersion: v2
name: ml-inference-load
description: Serves a language model on a GPU node (first hand-made cut)
type: application
version: 0.0.3
appVersion: "2.4.1"
maintainers:
  - name: ml-serving-guild
    email: ml-serving@example.invalid
"""

VALUES_YAML = """\
workloadType: ML_INFERENCE_LOAD
serviceName: inference-placeholder
serviceCatalog: ml-serving
namespace: ml-serving
environment: dev
revisionHistoryLimit: 2
basicMonitoring:
  enabled: true
ingress:
  enabled: false
  host: ""
service:
  port: 80
model:
  id: placeholder-org/placeholder-model
  revision: main
inference:
  maxInputLength: 2048
  maxTotalTokens: 4096
gpu:
  count: 1
container:
  replicas: 1
  port: 8080
  image:
    repository: ghcr.io/huggingface/text-generation-inference
    tag: "2.4.1"
  secretStore:
    name: vault-backend
  secrets:
    - name: HUGGING_FACE_HUB_TOKEN
      secretKey: hf-token
      vaultPath: /secret/shared/huggingface/token
  environment: []
"""

CI_VALUES_YAML = """\
serviceName: lint-check
ingress:
  enabled: true
  host: lint-check.example.com
"""


def _object(properties: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _values_schema() -> dict:
    string, integer, boolean = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
    secret = _object({"name": string, "secretKey": string, "vaultPath": string},
                     ["name", "secretKey", "vaultPath"])
    variable = _object({"name": string, "value": string}, ["name", "value"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **_object(
            {
                "workloadType": {"type": "string", "const": "ML_INFERENCE_LOAD"},
                "serviceName": string,
                "serviceCatalog": string,
                "namespace": string,
                "environment": {"enum": ["dev", "syst", "uat", "prod", "core", "core-dev"]},
                "revisionHistoryLimit": integer,
                "basicMonitoring": _object({"enabled": boolean}),
                "ingress": _object({"enabled": boolean, "host": string}),
                "service": _object({"port": integer}),
                "model": _object({"id": string, "revision": string}, ["id", "revision"]),
                "inference": _object({"maxInputLength": integer, "maxTotalTokens": integer}),
                "gpu": _object({"count": integer}),
                "container": _object({
                    "replicas": integer,
                    "port": integer,
                    "image": _object({"repository": string, "tag": string}),
                    "secretStore": _object({"name": string}),
                    "secrets": {"type": "array", "items": secret},
                    "environment": {"type": "array", "items": variable},
                }),
            },
            ["workloadType", "model"],
        ),
    }


HELPERS = """\
{{- define "mil.labels" -}}
app: {{ .Values.serviceName }}
catalog: {{ .Values.serviceCatalog }}
{{- end }}
"""

TEMPLATES = {
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.serviceName }}
  labels: {{- include "mil.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.container.replicas }}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}
  selector:
    matchLabels:
      app: {{ .Values.serviceName }}
  template:
    metadata:
      labels: {{- include "mil.labels" . | nindent 8 }}
    spec:
      runtimeClassName: nvidia
      nodeSelector:
        nvidia.com/gpu.present: "true"
      containers:
        - name: server
          image: "{{ .Values.container.image.repository }}:{{ .Values.container.image.tag }}"
          imagePullPolicy: Always
          args:
            - --model-id={{ .Values.model.id }}
            - --revision={{ .Values.model.revision }}
            - --max-input-length={{ .Values.inference.maxInputLength }}
            - --max-total-tokens={{ .Values.inference.maxTotalTokens }}
          ports:
            - containerPort: {{ .Values.container.port }}
          env:
            {{- range .Values.container.secrets }}
            - name: {{ .name }}
              valueFrom:
                secretKeyRef:
                  name: {{ $.Values.serviceName }}-secrets
                  key: {{ .secretKey }}
            {{- end }}
          resources:
            limits:
              nvidia.com/gpu: {{ .Values.gpu.count }}
""",
    "service.yaml": """\
apiVersion: v1
kind: Service
metadata:
  name: {{ .Values.serviceName }}
  labels: {{- include "mil.labels" . | nindent 4 }}
spec:
  selector:
    app: {{ .Values.serviceName }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: {{ .Values.container.port }}
""",
    "externalSecret.yaml": """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: {{ .Values.serviceName }}-secrets
spec:
  secretStoreRef:
    kind: ClusterSecretStore
    name: {{ .Values.container.secretStore.name }}
  target:
    name: {{ .Values.serviceName }}-secrets
    creationPolicy: Owner
  data:
    {{- range .Values.container.secrets }}
    - secretKey: {{ .secretKey }}
      remoteRef:
        key: {{ .vaultPath }}
        property: value
    {{- end }}
""",
    "gateway.yaml": """\
{{- if .Values.ingress.enabled }}
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {{ .Values.serviceName }}-gateway
spec:
  gatewayClassName: istio
  listeners:
    - name: https
      hostname: {{ .Values.ingress.host }}
      port: 443
      protocol: HTTPS
      tls:
        certificateRefs:
          - name: {{ .Values.serviceName }}-tls-cert
{{- end }}
""",
    "httproute.yaml": """\
{{- if .Values.ingress.enabled }}
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ .Values.serviceName }}-http-route
spec:
  parentRefs:
    - name: {{ .Values.serviceName }}-gateway
  rules:
    - matches:
        - path: {type: PathPrefix, value: /}
      backendRefs:
        - name: {{ .Values.serviceName }}
          port: {{ .Values.service.port }}
{{- end }}
""",
    "ingressCert.yaml": """\
{{- if .Values.ingress.enabled }}
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ .Values.serviceName }}-tls-cert
spec:
  secretName: {{ .Values.serviceName }}-tls-cert
  dnsNames:
    - {{ .Values.ingress.host }}
  issuerRef:
    kind: ClusterIssuer
    name: letsencrypt-prod
{{- end }}
""",
}

INTERFACE_TS = """\
import { Environment, EnvironmentVariableObj, SecretObj } from '../shared';

export interface MlInferenceLoadSchema {
  workloadType: "ML_INFERENCE_LOAD";
  serviceName: string;
  serviceCatalog: string;
  namespace: string;
  environment: Environment;
  revisionHistoryLimit?: number;
  basicMonitoring: { enabled: boolean };
  ingress: { enabled: boolean; host?: string };
  service: { port: number };
  model: { id: string; revision: string };
  inference: { maxInputLength: number; maxTotalTokens: number };
  gpu: { count: number };
  container: {
    replicas: number;
    port: number;
    image: { repository: string; tag: string };
    secretStore: { name: string };
    secrets: SecretObj[];
    environment: EnvironmentVariableObj[];
  };
}
"""

CATALOG_ENTRY = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ml-inference-load
  title: ML Inference Load
  description: Hand-made base chart for GPU model serving.
  annotations:
    platform.example.com/chart-path: charts/ml-inference-load
spec:
  type: platform-base-chart
  lifecycle: experimental
  owner: group:ml-serving-guild
"""


def chart_files() -> dict[str, str]:
    """The hand-made chart folder, path -> text."""
    files = {
        f"{CHART}/Chart.yaml": CHART_YAML,
        f"{CHART}/values.yaml": VALUES_YAML,
        f"{CHART}/values.schema.json": json.dumps(_values_schema(), indent=2) + "\n",
        f"{CHART}/ci/ingress-values.yaml": CI_VALUES_YAML,
        f"{CHART}/templates/_helpers.tpl": HELPERS,
    }
    files.update({f"{CHART}/templates/{name}": text for name, text in TEMPLATES.items()})
    return files


def ollama_chart_files() -> dict[str, str]:
    """The other inference chart the repository gained meanwhile (not ours to touch)."""
    base = "charts/ollama-inference-load"
    return {
        f"{base}/Chart.yaml": textwrap.dedent("""\
            apiVersion: v2
            name: ollama-inference-load
            description: Serves a model with Ollama
            version: 0.1.2
            appVersion: "0.5.0"
            maintainers:
              - name: ml-serving-guild
            """),
        f"{base}/values.yaml": "workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: ollama\n",
        f"{base}/values.schema.json": json.dumps({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **_object({"workloadType": {"const": "OLLAMA_INFERENCE_LOAD"},
                       "serviceName": {"type": "string"}}),
        }, indent=2) + "\n",
        f"{base}/templates/configmap.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.serviceName }}\n"
        ),
    }


def with_handmade_type(files: dict[str, str]) -> dict[str, str]:
    """``files`` (the fixture repository) as it is once the hand-made type is merged: its
    chart, interface and catalog entry, and the interface in the unions, the exports and
    PlatformBaseCharts (edited here as its authors would have)."""
    out = dict(files)
    out.update(chart_files())
    out.update(ollama_chart_files())
    out[MODULE] = INTERFACE_TS
    out[".cat/backstage/ml-inference-load.catalog-info.yaml"] = CATALOG_ENTRY
    schema_ts = "src/workloadChartValues/workloadSchema.ts"
    out[schema_ts] = (
        "import { MlInferenceLoadSchema } from './mlInferenceLoad';\n" + out[schema_ts]
    ).replace(" | StatefulContainerLoadSchema;", " | StatefulContainerLoadSchema"
              " | MlInferenceLoadSchema;")
    index_ts = "src/workloadChartValues/index.ts"
    out[index_ts] = (
        "import { MlInferenceLoadSchema } from './mlInferenceLoad'\n" + out[index_ts]
    ).replace(" | StatefulContainerLoadSchema;", " | StatefulContainerLoadSchema"
              " | MlInferenceLoadSchema;").replace(
        "  StatefulContainerLoadSchema\n}", "  StatefulContainerLoadSchema,\n"
        "  MlInferenceLoadSchema\n}")
    platform_ts = "src/shared/platform.ts"
    out[platform_ts] = out[platform_ts].replace(
        "  KAFKA_CONNECT: 'KAFKA_CONNECT'\n", "  KAFKA_CONNECT: 'KAFKA_CONNECT',\n"
        "  ML_INFERENCE_LOAD: 'ML_INFERENCE_LOAD'\n")
    return out
