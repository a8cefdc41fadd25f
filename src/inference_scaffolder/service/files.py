"""What a generated service repository contains, computed from validated answers.

Structured files (Helm values, catalog-info, mkdocs) are built as data and dumped with a YAML
library, never by pasting answers into text, so no answer can change the YAML's structure.
Prose files (README, docs) are ``*.j2`` files in the template, rendered here in a sandboxed
Jinja environment with the answers as plain context values; free-text answers reach Markdown
files through :func:`markdown_text`, so they stay text there.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from inference_scaffolder import TEMPLATE_VERSION
from inference_scaffolder.answers import (
    Answers,
    environment_host,
    repo_slug,
    served_model_name,
)
from inference_scaffolder.answers.loading import load_answers_record
from inference_scaffolder.answers.rules import PROSE_ANSWERS, effective_memory_request
from inference_scaffolder.chart import (
    CHART_NAME,
    WORKLOAD_TYPE,
    coalesce_values,
    engine_defaults,
)
from inference_scaffolder.errors import UserError
from inference_scaffolder.go_yaml import safe_dump
from inference_scaffolder.safe_fs import (
    MAX_REPOSITORY_FILE_BYTES,
    read_regular_file,
    read_text_file,
)
from inference_scaffolder.service.ci_workflow import WORKFLOW_PATH, ci_workflow, workflow_header
from inference_scaffolder.service.gitops_files import write_gitops_files
from inference_scaffolder.service.intake import load_mapping
from inference_scaffolder.service.layout import (
    ANSWERS_RECORD,
    MAX_MODEL_CONFIG_BYTES,
    MODEL_CONFIG_COPY,
    values_file,
)

HF_TOKEN_SECRET_KEY = "hf-token"


# --- Helm values -----------------------------------------------------------------------------


def common_values(answers: Answers) -> dict[str, Any]:
    """This service's values shared by every environment (overlaid on the chart defaults)."""
    secrets = []
    if answers["hf_token_vault_path"]:
        secrets.append(
            {
                "name": engine_defaults(answers["engine"])["hfTokenEnv"],
                "secretKey": HF_TOKEN_SECRET_KEY,
                "vaultPath": answers["hf_token_vault_path"],
            }
        )
    secrets += [
        {"name": s["name"], "secretKey": s["secretKey"], "vaultPath": s["vaultPath"]}
        for s in answers["extra_secrets"]
    ]
    return {
        "serviceName": answers["service_name"],
        "serviceCatalog": answers["service_catalog"],
        "namespace": answers["namespace"],
        "engine": answers["engine"],
        "gpu": {"count": answers["gpu_count"],
                **({"type": answers["gpu_type"]} if answers["gpu_type"] else {})},
        "container": {
            "secretStore": {"name": answers["secret_store"]},
            "secrets": secrets,
            "environment": [
                {"name": e["name"], "value": e["value"]} for e in answers["environment_variables"]
            ],
            "resources": {
                "requests": {"cpu": answers["cpu_request"],
                             "memory": effective_memory_request(answers)},
                "limits": {"memory": answers["memory_limit"]},
            },
        },
        "basicMonitoring": {"enabled": answers["basic_monitoring"]},
        "imagePullSecret": {
            "enabled": answers["image_pull_secret"],
            "vaultPath": answers["image_pull_secret_vault_path"]
            if answers["image_pull_secret"]
            else "",
        },
        **_serving_option_values(answers),
    }


def _serving_option_values(answers: Answers) -> dict[str, Any]:
    """The optional chart features the answers switch on (model cache, autoscaling, routing)."""
    values: dict[str, Any] = _model_cache_values(answers)
    if answers["autoscaling_max_replicas"]:
        values["autoscaling"] = {"enabled": True,
                                 "maxReplicas": answers["autoscaling_max_replicas"],
                                 "prometheus": {"serverAddress": answers["prometheus_query_url"]}}
    if answers["routing"]:
        values["routing"] = {
            "enabled": True,
            "envoyAIGateway": {"enabled": answers["envoy_ai_gateway"],
                               **({"failoverBackends": list(answers["failover_backends"])}
                                  if answers["failover_backends"] else {})},
            "rateLimit": {"enabled": bool(answers["rate_limit_per_minute"]),
                          "requestsPerMinute": answers["rate_limit_per_minute"] or 60},
            "inferencePool": {"enabled": answers["inference_pool"],
                              **({"gatewayRelease": answers["inference_gateway_release"]}
                                 if answers["inference_gateway_release"] else {})},
        }
    return values


def _model_cache_values(answers: Answers) -> dict[str, Any]:
    """Where the model is cached: a claim of the named class (it outlives the pod, so a
    restart or rollback loads without a download), else an emptyDir; both of the answer's
    size when given."""
    size = answers["model_cache_size"]
    values: dict[str, Any] = {"modelStorage": {"sizeLimit": size}} if size else {}
    if answers["model_cache_storage_class"]:
        values["modelCache"] = {"enabled": True,
                                "storageClassName": answers["model_cache_storage_class"],
                                "accessMode": answers["model_cache_access_mode"]}
        if size:
            values["modelCache"]["size"] = size
    return values


def availability_values(answers: Answers, environment: str) -> dict[str, Any]:
    """Replicas and rollout strategy of one environment. Where downtime is allowed, one pod
    is replaced in place (no spare GPU); elsewhere a ready pod remains throughout: the new
    pod surges beside the old one, or two replicas are replaced one at a time (and a
    PodDisruptionBudget keeps one through node drains)."""
    if environment in answers["allow_downtime"]:
        replicas, surge, unavailable = 1, 0, 1
    elif answers["rollout_surge"]:
        replicas, surge, unavailable = 1, 1, 0
    else:
        replicas, surge, unavailable = 2, 0, 1
    values: dict[str, Any] = {
        "replicas": replicas,
        "strategy": {"type": "RollingUpdate", "maxSurge": surge, "maxUnavailable": unavailable},
    }
    if replicas > 1:
        values["podDisruptionBudget"] = {"enabled": True, "maxUnavailable": 1}
    if answers["autoscaling_max_replicas"]:
        values["autoscaling"] = {"minReplicas": replicas}
    return values


def model_values(answers: Answers) -> dict[str, Any]:
    """The model block: what is served, pinned per environment so it can be promoted."""
    model: dict[str, Any] = {
        "id": answers["model_id"],
        "revision": answers["model_revision"],
        "maxInputTokens": answers["max_input_tokens"],
        "maxTotalTokens": answers["max_total_tokens"],
    }
    if answers["served_model_name"]:
        model["servedModelName"] = answers["served_model_name"]
    if answers["quantization"]:
        model["quantization"] = answers["quantization"]
    return model


def engine_image_tag(answers: Answers) -> str:
    """The engine image tag to pin: the answer, else the chart's default for the engine."""
    return answers["engine_image_tag"] or str(engine_defaults(answers["engine"])["image"]["tag"])


def environment_values(answers: Answers, environment: str) -> dict[str, Any]:
    """Overrides for one environment: its name, the pinned identity and its hostname."""
    values: dict[str, Any] = {
        "environment": environment,
        "model": model_values(answers),
        "container": {"image": {"tag": engine_image_tag(answers)}},
    }
    values.update(availability_values(answers, environment))
    if answers["ingress_host"]:
        values["ingress"] = {"enabled": True, "host": environment_host(answers, environment)}
    if answers["routing"]:
        # The per-environment registration switch: false deregisters the model here only.
        values["routing"] = {"enabled": True}
    return values


def leaf_values(answers: Answers, environment: str) -> dict[str, Any]:
    """One environment's complete values: what this service sets over the base chart's
    defaults. Identity first, then the deployable identity (model, image), then the rest."""
    common = common_values(answers)
    identity = {key: common.pop(key) for key in ("serviceName", "serviceCatalog", "namespace")}
    env = environment_values(answers, environment)
    # workloadType first: the discriminator of the platform's WorkloadSchema union, so a tool
    # typing this file with the published TypeScript types knows which chart it is for.
    ordered = {"workloadType": WORKLOAD_TYPE, **identity, "environment": env.pop("environment"),
               "engine": common.pop("engine"), "model": env.pop("model")}
    return coalesce_values(coalesce_values(ordered, common), env)


def dump_yaml(data: Any, header: str = "", *, width: int = 80) -> str:
    """Block-style YAML with keys in insertion order, behind an optional comment header."""
    body = safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=width)
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + body


def values_header(service: str, environment: str) -> str:
    """The comment that opens an environment's values file: what the file is for."""
    return (
        f"{environment} values of {service}: this leaf's API.\n"
        f"kustomization.yaml beside this file inflates the platform's base chart {CHART_NAME}\n"
        "at the version it pins with these values; what is not set here takes the base\n"
        "chart's default, and its values.schema.json checks this file. The model block and\n"
        "container.image.tag are this environment's deployable identity: `inference-scaffolder\n"
        "promote` moves them, with the chart version, to the next environment."
    )


def environment_values_text(answers: Answers, environment: str) -> str:
    # go-yaml (Helm) reads this file: dump_yaml quotes strings it would take for another type.
    return dump_yaml(leaf_values(answers, environment),
                     values_header(answers["service_name"], environment))


# --- Backstage and TechDocs --------------------------------------------------------------------


def catalog_info(answers: Answers) -> dict[str, Any]:
    """The Backstage Component for the service, with the annotations plugins read."""
    slug = repo_slug(answers)
    name = answers["service_name"]
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": name,
            "title": f"{name} ({answers['model_id']})",
            "description": answers["description"],
            "annotations": {
                "github.com/project-slug": slug,
                "backstage.io/source-location": f"url:https://github.com/{slug}/tree/main/",
                "backstage.io/techdocs-ref": "dir:.",
                "backstage.io/kubernetes-id": name,
                "backstage.io/kubernetes-namespace": answers["namespace"],
                "backstage.io/kubernetes-label-selector": f"app={name}",
                "platform/workload-type": WORKLOAD_TYPE,
                "platform/chart": f"{CHART_NAME}@{answers['chart_version']}",
                "platform/chart-repository": answers["chart_repository"],
                "platform/model-id": answers["model_id"],
                "platform/model-revision": answers["model_revision"],
                "platform/template-version": TEMPLATE_VERSION,
            },
            "labels": {
                "workload-type": CHART_NAME,
                "engine": answers["engine"],
                "service-catalog": answers["service_catalog"],
            },
            "tags": ["ml-inference", "llm", answers["engine"], "gpu"],
            "links": [
                {
                    "url": f"https://huggingface.co/{answers['model_id']}",
                    "title": "Model card",
                    "icon": "docs",
                }
            ],
        },
        "spec": {
            "type": "service",
            "lifecycle": answers["lifecycle"],
            "owner": answers["owner"],
            "system": answers["system"],
        },
    }


def mkdocs_config(answers: Answers) -> dict[str, Any]:
    """TechDocs' MkDocs configuration. MkDocs themes print ``site_description`` into the
    page's ``<meta name="description" content="...">`` without escaping (their Jinja has no
    autoescape), so it is written HTML-escaped: the browser reads back the description."""
    return {
        "site_name": answers["service_name"],
        "site_description": html.escape(answers["description"], quote=True),
        "nav": [{"Overview": "index.md"}, {"Runbook": "runbook.md"}],
        "plugins": ["techdocs-core"],
    }


def answers_record(answers: Answers) -> dict[str, Any]:
    """What ``update`` and replays need: the template, its version and every answer. A model
    config.json is recorded as the repository's own copy, not as a path on one machine."""
    recorded = dict(answers)
    if recorded.get("model_config"):
        recorded["model_config"] = str(MODEL_CONFIG_COPY)
    return {
        "template": CHART_NAME,
        "template_version": TEMPLATE_VERSION,
        "chart_version": answers["chart_version"],
        "answers": recorded,
    }


def copy_model_config(project_dir: Path, source: str) -> None:
    """Keep the model's config.json with the repository (the capacity check reads it)."""
    # Regular files only, bounded: a FIFO or /dev/zero is refused, not waited for.
    data = read_regular_file(Path(source), MAX_MODEL_CONFIG_BYTES, "model_config")
    target = project_dir / MODEL_CONFIG_COPY
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


# --- prose -----------------------------------------------------------------------------------

# Markdown is read by GitHub (CommonMark) and by TechDocs (MkDocs: Python-Markdown with the
# pymdownx extensions). A backslash escapes only a few characters in Python-Markdown, so the
# rest are written as HTML character references, which both decode to plain text. Beyond
# CommonMark: { } (attr_list), ~ ^ = + (pymdownx tilde, caret, mark, keys, critic), and
# < also breaks pymdownx.snippets' --8<-- include line.
_MARKDOWN_ESCAPES = str.maketrans({
    "\\": "\\\\", "`": "\\`", "*": "\\*", "_": "\\_", "{": "\\{", "}": "\\}",
    "[": "\\[", "]": "\\]", "+": "\\+", "&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;",
    "~": "&#126;", "^": "&#94;", "=": "&#61;",
})
# What a line starts a block with (heading, list, quote, fence, table, admonition, tab,
# setext underline, numbered item): any punctuation, or a number ending in . or ).
_BLOCK_START = re.compile(r"[0-9]{1,9}[.)](?=\s|$)|[!-/:-@\[-`{-~]")
# The colon that opens an emoji shortcode (pymdownx.emoji draws :smile: as an image).
_SHORTCODE_COLON = re.compile(r":(?=[\w+-])")
# An @mention as GitHub (and pymdownx.magiclink) links it.
_MENTION = re.compile(r"(?<![A-Za-z0-9_])@[A-Za-z0-9](?:[A-Za-z0-9_./-]*[A-Za-z0-9_])?")
_CODE_SPAN = re.compile(r"(`[^`]*`)")


def markdown_text(text: str, *, code_spans: bool = False) -> str:
    """``text`` as Markdown that GitHub and MkDocs render back to exactly that text.

    No HTML, link, image, emoji, emphasis or block forms from it: markup characters are
    escaped, a line's leading punctuation becomes a character reference and its indentation
    is dropped, and an @mention is shown as code, which neither GitHub nor MkDocs links (so
    no one is notified). Bare web and mail addresses stay text that GitHub and
    pymdownx.magiclink may link, as in any prose: http(s) and mailto only, never a script.
    ``code_spans`` keeps `code spans` as code: only for text this tool wrote (the Backstage
    form's help), never for answers, whose backtick runs could end a span where the renderer
    would not.
    """
    parts = _CODE_SPAN.split(text) if code_spans else [text]
    return "".join(
        part if index % 2 else "\n".join(
            _markdown_line(line, at_line_start=index == 0 or number > 0)
            for number, line in enumerate(part.split("\n")))
        for index, part in enumerate(parts)
    )


def _markdown_line(line: str, *, at_line_start: bool) -> str:
    """One line (or the rest of one) of :func:`markdown_text`."""
    prefix = ""
    if at_line_start:
        line = line.lstrip(" \t")
        block = None if _MENTION.match(line) else _BLOCK_START.match(line)
        if block:
            marker = block.group()
            prefix, line = marker[:-1] + f"&#{ord(marker[-1])};", line[block.end():]
    pieces, position = [prefix], 0
    for mention in _MENTION.finditer(line):
        pieces += [_escaped(line[position:mention.start()]), f"`{mention.group()}`"]
        position = mention.end()
    pieces.append(_escaped(line[position:]))
    return "".join(pieces)


def _escaped(text: str) -> str:
    return _SHORTCODE_COLON.sub("&#58;", text.translate(_MARKDOWN_ESCAPES))



def prose_context(answers: Answers, *, markdown: bool = True) -> dict[str, Any]:
    """Everything the README and docs templates may use, as plain data. For a Markdown file
    the free-text answers (``PROSE_ANSWERS``) are given as :func:`markdown_text`: a template
    cannot forget to escape them."""
    defaults = engine_defaults(answers["engine"])
    shown = {**answers, **{key: markdown_text(str(answers[key])) for key in PROSE_ANSWERS
                           if markdown and isinstance(answers.get(key), str)}}
    return {
        "a": shown,
        "served_model_name": served_model_name(answers),
        "repo_slug": repo_slug(answers),
        "engine_label": {"tgi": "Text Generation Inference", "vllm": "vLLM"}[answers["engine"]],
        "engine_port": defaults["port"],
        "readiness_path": defaults["readinessPath"],
        "image_tag": engine_image_tag(answers),
        "hosts": {env: environment_host(answers, env) for env in answers["environments"]},
        "chart_version": answers["chart_version"],
        "chart_repository": answers["chart_repository"],
        "template_version": TEMPLATE_VERSION,
    }


def _prose_environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_prose_templates(project_dir: Path, answers: Answers) -> None:
    """Render every ``*.j2`` file of the template in place and drop the ``.j2`` source."""
    env = _prose_environment()
    for source in sorted(project_dir.rglob("*.j2")):
        context = prose_context(answers, markdown=source.with_suffix("").suffix == ".md")
        text = env.from_string(source.read_text(encoding="utf-8")).render(context)
        source.with_suffix("").write_text(text, encoding="utf-8")
        source.unlink()


# --- the whole repository ----------------------------------------------------------------------


def write_service_files(project_dir: Path, answers: Answers) -> None:
    """Turn the copied template tree into this service's repository."""
    render_prose_templates(project_dir, answers)
    for environment in answers["environments"]:
        target = values_file(project_dir, environment)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(environment_values_text(answers, environment), encoding="utf-8")
    (project_dir / "catalog-info.yaml").write_text(
        dump_yaml(catalog_info(answers)), encoding="utf-8"
    )
    (project_dir / "mkdocs.yml").write_text(dump_yaml(mkdocs_config(answers)), encoding="utf-8")
    if answers.get("model_config"):
        copy_model_config(project_dir, answers["model_config"])
    record = project_dir / ANSWERS_RECORD
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(
        dump_yaml(answers_record(answers),
                  "Answers this repository was generated from (the platform answers "
                  "included:\nchart_repository, chart_version, scaffolder_source)."),
        encoding="utf-8",
    )
    workflow = project_dir / WORKFLOW_PATH
    workflow.parent.mkdir(parents=True, exist_ok=True)
    # Wide lines: a shell command or a GitHub expression reads best unfolded.
    workflow.write_text(dump_yaml(ci_workflow(answers), workflow_header(answers),
                                  width=1000), encoding="utf-8")
    write_gitops_files(project_dir, answers)


def read_answers_record(project_dir: Path) -> dict[str, Any]:
    """The recorded answers of a generated repository."""
    path = project_dir / ANSWERS_RECORD
    if not path.is_file():
        raise UserError("DIR", f"{project_dir} has no {ANSWERS_RECORD}: not a generated repository")
    # Hand-edited: bounded, and a broken or mistyped record is one line naming the file;
    # read exactly, so that a hand edit such as `engine_image_tag: 3.10` stays 3.10.
    shown = ANSWERS_RECORD.as_posix()
    load_mapping(project_dir, shown, may_be_empty=False)
    return load_answers_record(read_text_file(path, MAX_REPOSITORY_FILE_BYTES, shown), shown)
