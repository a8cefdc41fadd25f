"""Checking answers: one line naming the first offending field and its rule."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import jsonschema

from inference_scaffolder.answers.credentials import refuse_credential
from inference_scaffolder.answers.fields import (
    ANSWER_FIELDS,
    CHART_REPOSITORY_VARIABLE,
    CREDENTIAL_ENV_NAMES,
    DEFAULT_GATEWAY_RELEASE_PREFIX,
    FIELDS_BY_KEY,
    MAX_ANSWER_LENGTH,
    MAX_GATEWAY_RELEASE_LENGTH,
    RESERVED_ENV_NAMES,
    SCAFFOLDER_SOURCE_VARIABLE,
    TEMPLATE_DELIMITERS,
    UNCARRIED_CHARACTER,
    UNCONFIGURED_CHART_REPOSITORY,
    YAML_NON_STRING_RULE,
    AnswerField,
    Answers,
    unknown_answer_rule,
)
from inference_scaffolder.answers.loading import (
    load_answers_file,
    normalise,
    parse_set_overrides,
)
from inference_scaffolder.answers.schema import NOT_YAML_NON_STRING, validator
from inference_scaffolder.errors import UserError

# Answers that are prose: shown to people as text (README, TechDocs, the catalog page), not
# names or values a program reads. The files that show them escape them as Markdown
# (service.files.markdown_text); what no escaping can make harmless is refused here.
PROSE_ANSWERS = ("description",)
# Bidirectional embeddings, overrides and isolates reorder the text around them, so a
# reviewer reads other words than those stored ("Trojan Source"); C0 controls such as ESC
# and BEL drive the terminal that prints the text. Marks (U+200E, U+200F, U+061C) are kept:
# right-to-left prose needs them and they reorder nothing beyond themselves.
PROSE_REFUSED_CHARACTER = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e"
                                     "\u2066-\u2069]")


def _walk_strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk_strings(str(k), path)
            yield from _walk_strings(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _walk_strings(v, f"{path}[{i}]")


def reject_template_source(raw: Mapping[str, Any]) -> None:
    """Refuse any answer that carries template syntax.

    Cookiecutter renders answer strings as Jinja, and a values file may reach Helm's ``tpl``:
    an answer such as ``{{ cycler.__init__.__globals__.os.system(...) }}`` would run code.
    Answers are data, so template delimiters are refused outright, before any rendering.
    Credential-shaped values are refused here too, before any rule could echo them.
    """
    for key, value in raw.items():
        for path, text in _walk_strings(value, str(key)):
            for delimiter in TEMPLATE_DELIMITERS:
                if delimiter in text:
                    raise UserError(
                        path,
                        f"must not contain the template delimiter {delimiter!r}: "
                        "answers are data, never template source",
                    )
            if len(text) > MAX_ANSWER_LENGTH:
                raise UserError(path, f"is longer than {MAX_ANSWER_LENGTH} characters")
            if "\x00" in text:
                raise UserError(path, "must not contain NUL characters")
            refuse_credential(path, text)
            if key in PROSE_ANSWERS:
                _refuse_prose_controls(path, text)
            uncarried = UNCARRIED_CHARACTER.search(text)
            if uncarried:
                raise UserError(path, f"must not contain the character "
                                      f"U+{ord(uncarried.group()):04X}: YAML and kustomize on "
                                      "the way to the cluster drop or refuse it")


def _refuse_prose_controls(path: str, text: str) -> None:
    """Refuse a character in prose that makes a reader see, or a terminal do, something
    other than the text (tab and line breaks are left to the answer's own rule)."""
    found = PROSE_REFUSED_CHARACTER.search(text)
    if found:
        raise UserError(path, f"must not contain the character U+{ord(found.group()):04X}: "
                              "bidirectional overrides and control characters make the README, "
                              "TechDocs or a terminal show other text than the one stored")


def _describe_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_error_to_user_error(error: jsonschema.ValidationError) -> UserError:
    path = list(error.absolute_path)
    key = str(path[0]) if path else ""
    if error.validator == "required" and not path:
        missing = re.search(r"'([^']+)' is a required property", error.message)
        key = missing.group(1) if missing else key
        answer = FIELDS_BY_KEY.get(key)
        return UserError(key, "is required" + (" (no default)" if answer and answer.default in
                                                ("", None) else ""))
    if error.validator == "additionalProperties" and not path:
        unknown = re.findall(r"'([^']+)'", error.message)
        name = unknown[0] if unknown else "?"
        return UserError(name, unknown_answer_rule(name))
    answer = FIELDS_BY_KEY.get(key)
    where = key + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])
    if error.validator == "not" and error.validator_value == NOT_YAML_NON_STRING:
        return UserError(where, f"{error.instance!r} {YAML_NON_STRING_RULE}")
    if answer is not None and len(path) == 1 and answer.rule:
        return UserError(where, f"{answer.rule} (got {_describe_value(error.instance)})")
    member_rule = answer.item_rules.get(str(path[-1])) if answer and len(path) == 3 else None
    if member_rule:
        return UserError(where, f"{member_rule} (got {_describe_value(error.instance)})")
    return UserError(where, f"{_plain_rule(error)} (got {_describe_value(error.instance)})")


def _plain_rule(error: jsonschema.ValidationError) -> str:
    """A short rule text for nested errors, where the field's own rule text is too broad."""
    v, expected = str(error.validator), cast(Any, error.validator_value)
    texts = {
        "pattern": f"must match {expected}",
        "maxLength": f"must be at most {expected} characters",
        "minLength": "must not be empty" if expected == 1 else f"needs {expected}+ characters",
        "enum": "must be one of " + ", ".join(map(str, expected or [])),
        "type": f"must be of type {expected}",
        "required": error.message.replace("'", ""),
        "additionalProperties": error.message.replace("'", ""),
        "maxItems": f"must have at most {expected} entries",
    }
    return texts.get(v, error.message)


# --- rules between answers ------------------------------------------------------------------
# Each rule is checked with the answers it names only (RuleBetweenAnswers.keys), so interactive
# `new` can check it as soon as the last of them is given, and ask that one again.


def _lower_than(answer: AnswerField) -> Callable[[Answers], None]:
    """The rule of an answer declared ``lower_than`` another (the Backstage form checks the
    same)."""
    def check(answers: Answers) -> None:
        if answers[answer.key] >= answers[answer.lower_than]:
            raise UserError(answer.key, answer.lower_than_rule.format(
                value=answers[answer.key], limit=answers[answer.lower_than]))
    return check


def _reserved_name(key: str, position: int, name: str) -> None:
    if name in RESERVED_ENV_NAMES:
        raise UserError(f"{key}[{position}].name",
                        f"{name} is set by the chart from the model and gpu answers; "
                        "change those answers instead")


def _hf_token_variables(answers: Answers) -> dict[str, str]:
    """The variables the engine reads the Hugging Face token from, when one is given."""
    if not answers["hf_token_vault_path"]:
        return {}
    from inference_scaffolder.chart import engine_defaults

    defaults = engine_defaults(answers["engine"])
    return {name: "hf_token_vault_path"
            for name in [defaults["hfTokenEnv"], *defaults.get("hfTokenAliases", [])]}


def _check_variable_names(answers: Answers) -> None:
    """Plain variables: none the chart sets, none that carries a credential, each once."""
    seen: set[str] = set()
    for position, entry in enumerate(answers["environment_variables"]):
        name = entry["name"]
        _reserved_name("environment_variables", position, name)
        if name in CREDENTIAL_ENV_NAMES:
            raise UserError(f"environment_variables[{position}].name",
                            f"{name} holds a credential: give its Vault path in extra_secrets, "
                            "never a plain value")
        if name in seen:
            raise UserError(f"environment_variables[{position}].name",
                            f"{name} is defined twice (also in environment_variables)")
        seen.add(name)


def _check_quantize_once(answers: Answers) -> None:
    if not answers["quantization"]:
        return
    for position, entry in enumerate(answers["environment_variables"]):
        if entry["name"] == "QUANTIZE":
            raise UserError(f"environment_variables[{position}].name",
                            "QUANTIZE is set from the quantization answer; give only one")


def _check_variables_beside_token(answers: Answers) -> None:
    token = _hf_token_variables(answers)
    for position, entry in enumerate(answers["environment_variables"]):
        if entry["name"] in token:
            raise UserError(f"environment_variables[{position}].name",
                            f"{entry['name']} is defined twice (also in hf_token_vault_path)")


def _check_extra_secrets(answers: Answers) -> None:
    """Secret variables: none the chart sets, no name or secret key used twice."""
    seen = {**_hf_token_variables(answers),
            **{e["name"]: "environment_variables" for e in answers["environment_variables"]}}
    for position, secret in enumerate(answers["extra_secrets"]):
        name = secret["name"]
        _reserved_name("extra_secrets", position, name)
        if name in seen:
            raise UserError(f"extra_secrets[{position}].name",
                            f"{name} is defined twice (also in {seen[name]})")
        seen[name] = "extra_secrets"
    secret_keys: set[str] = {"hf-token"} if answers["hf_token_vault_path"] else set()
    for index, secret in enumerate(answers["extra_secrets"]):
        if secret["secretKey"] in secret_keys:
            raise UserError(f"extra_secrets[{index}].secretKey",
                            f"{secret['secretKey']} is used twice")
        secret_keys.add(secret["secretKey"])


def _check_pull_secret_path(answers: Answers) -> None:
    if answers["image_pull_secret"] and not answers["image_pull_secret_vault_path"]:
        raise UserError("image_pull_secret_vault_path",
                        "is required when image_pull_secret is true")


def _check_ingress_host_length(answers: Answers) -> None:
    if answers["ingress_host"] and len(answers["ingress_host"]) + len("uat.") > 253:
        raise UserError("ingress_host", "is too long to prefix with an environment name")


def _check_cross_field_rules(answers: Answers) -> None:
    for rule in RULES_BETWEEN_ANSWERS:
        rule.apply(answers)


_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti|E|Ei)?")
_QUANTITY_SCALE: dict[str | None, Fraction | int] = {
    None: 1, "m": Fraction(1, 1000), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Ei": 2**60,
}
GIB = 2**30


def quantity(text: str) -> Fraction:
    """A Kubernetes quantity (as the answers schema admits them) in base units, exactly."""
    found = _QUANTITY.fullmatch(text)
    if found is None:
        raise ValueError(f"not a quantity: {text!r}")
    return Fraction(found.group(1)) * _QUANTITY_SCALE[found.group(2)]


def effective_memory_request(answers: Answers) -> str:
    """The memory request the pod gets: the answer, else the limit (Guaranteed memory)."""
    return answers["memory_request"] or answers["memory_limit"]


# Requests the API server accepts (request <= limit) and that an engine can start with.


def _check_cpu_request(answers: Answers) -> None:
    if quantity(answers["cpu_request"]) < Fraction(1, 2):
        raise UserError("cpu_request", f"must be at least 500m (got {answers['cpu_request']!r}): "
                                       "tokenisation and the HTTP server need half a core")


def _at_least_one_gib(key: str) -> Callable[[Answers], None]:
    def check(answers: Answers) -> None:
        if answers[key] and quantity(answers[key]) < GIB:
            raise UserError(key, f"must be at least 1Gi (got {answers[key]!r}): the engine "
                                 "stages the model in host memory")
    return check


def _check_memory_request_within_limit(answers: Answers) -> None:
    request = effective_memory_request(answers)
    if quantity(request) > quantity(answers["memory_limit"]):
        raise UserError("memory_request",
                        f"must not exceed memory_limit ({request} > {answers['memory_limit']}): "
                        "the API server refuses a pod whose request is above its limit")


def _check_autoscaling_signal(answers: Answers) -> None:
    """Autoscaling that can read its signal."""
    if answers["autoscaling_max_replicas"] and not answers["prometheus_query_url"]:
        raise UserError("prometheus_query_url",
                        "is required with autoscaling_max_replicas: KEDA needs a Prometheus "
                        "query endpoint (an agent-mode Prometheus cannot be queried)")


def _single_node_cache(answers: Answers) -> bool:
    return bool(answers["model_cache_storage_class"]) and (
        answers["model_cache_access_mode"] == "ReadWriteOnce")


def _refuse_single_node_cache(where: str) -> None:
    raise UserError("model_cache_access_mode",
                    f"ReadWriteOnce attaches the cache to one node, but {where} more than one "
                    "pod at a time (surge, two replicas or autoscaling); use ReadWriteMany "
                    "with a class that offers it")


def _check_cache_where_one_pod_runs(answers: Answers) -> None:
    """A ReadWriteOnce cache only where every environment allows downtime (one pod)."""
    several = [env for env in answers["environments"] if env not in answers["allow_downtime"]]
    if _single_node_cache(answers) and several:
        _refuse_single_node_cache(f"{', '.join(several)} keep")


def _check_cache_without_autoscaling(answers: Answers) -> None:
    if _single_node_cache(answers) and answers["autoscaling_max_replicas"]:
        _refuse_single_node_cache("autoscaling keeps")


# Routing options that depend on each other or on the engine (the chart refuses the same).


def _check_pool_engine(answers: Answers) -> None:
    if answers["inference_pool"] and answers["engine"] == "tgi":
        raise UserError(
            "inference_pool",
            "needs engine vllm: the InferencePool's endpoint picker schedules on the model "
            "server's queue and KV-cache metrics, which TGI does not export",
        )


def _needs_routing(key: str) -> Callable[[Answers], None]:
    def check(answers: Answers) -> None:
        if answers[key] and not answers["routing"]:
            raise UserError(key, "needs routing: true (it registers the model for routing)")
    return check


def _check_rate_limit_route(answers: Answers) -> None:
    if answers["rate_limit_per_minute"] and not answers["envoy_ai_gateway"]:
        raise UserError("rate_limit_per_minute",
                        "needs envoy_ai_gateway: true (the limit applies to the gateway route)")


def _check_gateway_backends(answers: Answers) -> None:
    """Failover backends back this service on the gateway, so they need it. Whether the
    model then has the two enabled backends the platform's models chart requires depends on
    the platform's entry for the name too (it may have backends already): ``register``
    checks that against the routing repository."""
    if answers["failover_backends"] and not answers["envoy_ai_gateway"]:
        raise UserError("failover_backends",
                        "needs envoy_ai_gateway: true (they back this service on the gateway)")


def _check_inference_gateway_release(answers: Answers) -> None:
    """The release names the picker's Service (``<release>-inference-gateway-epp``), which
    must fit in a DNS label of 63 characters."""
    release = answers["inference_gateway_release"]
    if release and not answers["inference_pool"]:
        raise UserError("inference_gateway_release",
                        "needs inference_pool: true (it names the pool's endpoint picker)")
    default = f"{DEFAULT_GATEWAY_RELEASE_PREFIX}{answers['service_name']}"
    if answers["inference_pool"] and not release and len(default) > MAX_GATEWAY_RELEASE_LENGTH:
        raise UserError("inference_gateway_release",
                        f"is required for this service name: the default {default} is longer "
                        f"than {MAX_GATEWAY_RELEASE_LENGTH} characters, so the endpoint "
                        "picker's name would not fit in 63; name the platform's release")


@dataclass(frozen=True)
class RuleBetweenAnswers:
    """A rule between answers (or on one, beyond its schema), checked with the answers in
    ``keys`` only: interactive ``new`` checks it once all of them are given and asks the
    last one again (the form asks them in ``keys``' form order, and that answer can always
    set the rule right)."""

    keys: tuple[str, ...]
    check: Callable[[Answers], None]

    def apply(self, answers: Mapping[str, Any]) -> None:
        """Check the rule; a rule reading an answer it does not name fails loudly."""
        self.check({key: answers[key] for key in self.keys})


RULES_BETWEEN_ANSWERS: tuple[RuleBetweenAnswers, ...] = (
    *(RuleBetweenAnswers((a.key, a.lower_than), _lower_than(a))
      for a in ANSWER_FIELDS if a.lower_than),
    RuleBetweenAnswers(("environment_variables",), _check_variable_names),
    RuleBetweenAnswers(("environment_variables", "quantization"), _check_quantize_once),
    RuleBetweenAnswers(("engine", "environment_variables", "hf_token_vault_path"),
                       _check_variables_beside_token),
    RuleBetweenAnswers(("engine", "environment_variables", "hf_token_vault_path",
                        "extra_secrets"), _check_extra_secrets),
    RuleBetweenAnswers(("image_pull_secret", "image_pull_secret_vault_path"),
                       _check_pull_secret_path),
    RuleBetweenAnswers(("ingress_host",), _check_ingress_host_length),
    RuleBetweenAnswers(("engine", "inference_pool"), _check_pool_engine),
    RuleBetweenAnswers(("routing", "envoy_ai_gateway"), _needs_routing("envoy_ai_gateway")),
    RuleBetweenAnswers(("routing", "inference_pool"), _needs_routing("inference_pool")),
    RuleBetweenAnswers(("envoy_ai_gateway", "rate_limit_per_minute"), _check_rate_limit_route),
    RuleBetweenAnswers(("envoy_ai_gateway", "failover_backends"), _check_gateway_backends),
    RuleBetweenAnswers(("service_name", "inference_pool", "inference_gateway_release"),
                       _check_inference_gateway_release),
    RuleBetweenAnswers(("cpu_request",), _check_cpu_request),
    RuleBetweenAnswers(("memory_request",), _at_least_one_gib("memory_request")),
    RuleBetweenAnswers(("memory_limit",), _at_least_one_gib("memory_limit")),
    RuleBetweenAnswers(("memory_request", "memory_limit"), _check_memory_request_within_limit),
    RuleBetweenAnswers(("autoscaling_max_replicas", "prometheus_query_url"),
                       _check_autoscaling_signal),
    RuleBetweenAnswers(("environments", "allow_downtime", "model_cache_storage_class",
                        "model_cache_access_mode"), _check_cache_where_one_pod_runs),
    RuleBetweenAnswers(("model_cache_storage_class", "model_cache_access_mode",
                        "autoscaling_max_replicas"), _check_cache_without_autoscaling),
)


def check_rules_between(
    known: Mapping[str, Any], latest: str | None = None,
    rules: Iterable[RuleBetweenAnswers] = RULES_BETWEEN_ANSWERS,
) -> None:
    """The ``rules`` whose answers are all in ``known`` (values as :func:`check_answer`
    returns them); with ``latest``, only the rules that answer completes.

    Interactive ``new`` calls this after each answer, so a rule is refused at its last answer
    instead of after every question."""
    for rule in rules:
        if set(rule.keys) <= known.keys() and (latest is None or latest in rule.keys):
            rule.apply(known)


def _property_schema(key: str) -> Mapping[str, Any]:
    """The answers schema of one answer, to check a value given outside the answers."""
    return cast(Mapping[str, Any], validator().schema)["properties"][key]


def check_platform_setting(key: str, value: str, shown: str) -> str:
    """A platform setting (an option or a variable) checked against its answer's rule; a bad
    one names where it was set (``shown``), not an answer the user never gave."""
    if value:
        single = validator().evolve(schema=_property_schema(key))
        if not single.is_valid(value) or UNCARRIED_CHARACTER.search(value):
            raise UserError(shown, FIELDS_BY_KEY[key].rule)
    return value


def _configured(variable: str, key: str) -> str:
    """A platform setting from the environment, checked."""
    return check_platform_setting(key, os.environ.get(variable, "").strip(), variable)


def apply_platform_defaults(answers: Answers) -> Answers:
    """Fill the platform answers left empty from the platform's configuration: the chart
    repository and scaffolder source from their variables, the chart version this release
    carries. The filled values are recorded, so a later run renders the same leaf."""
    if answers.get("chart_repository") in ("", None):
        answers["chart_repository"] = (_configured(CHART_REPOSITORY_VARIABLE, "chart_repository")
                                       or UNCONFIGURED_CHART_REPOSITORY)
    if answers.get("chart_version") in ("", None):
        from inference_scaffolder.chart import chart_version

        answers["chart_version"] = chart_version()
    if answers.get("scaffolder_source") in ("", None):
        answers["scaffolder_source"] = _configured(SCAFFOLDER_SOURCE_VARIABLE,
                                                   "scaffolder_source")
    return answers


def validate_answers(raw: Mapping[str, Any]) -> Answers:
    """Check every answer and return them complete and normalised.

    Raises :class:`UserError` naming the first offending field and its rule.
    """
    if not isinstance(raw, Mapping):
        raise UserError("answers", "must be a mapping of answer names to values")
    for key in raw:
        if key not in FIELDS_BY_KEY:
            raise UserError(str(key), unknown_answer_rule(str(key)))
    reject_template_source(raw)
    answers = apply_platform_defaults(normalise(raw))
    for answer in ANSWER_FIELDS:
        if answer.required and answer.default in ("", None) and answers.get(answer.key) in (
            "", None
        ):
            raise UserError(answer.key, "is required (no default)")
    errors = sorted(validator().iter_errors(answers), key=_error_order)
    if errors:
        raise _schema_error_to_user_error(errors[0])
    _check_cross_field_rules(answers)
    return answers


def _error_order(error: jsonschema.ValidationError) -> tuple[int, str]:
    """Report errors in form order, so the first field a user sees is the first reported."""
    path = list(error.absolute_path)
    keys = list(FIELDS_BY_KEY)
    key = str(path[0]) if path else ""
    return (keys.index(key) if key in keys else -1, str(error.message))


def gather_answers(
    answers_file: Path | None, overrides: Iterable[str] = (),
    platform: Mapping[str, str] | None = None,
) -> Answers:
    """The answers given: the answers file, then ``--set`` overrides; not yet validated.

    ``platform``: the platform settings given as CLI options (``--chart-repository``...),
    checked (a bad one names its option), used for the platform answers the file and
    ``--set`` leave empty, before the variables.
    """
    raw: Answers = {}
    if answers_file is not None:
        raw.update(load_answers_file(answers_file))
    raw.update(parse_set_overrides(overrides))
    for key, value in (platform or {}).items():
        check_platform_setting(key, value, f"--{key.replace('_', '-')}")
        if value and not raw.get(key):
            raw[key] = value
    return raw


def collect_answers(
    answers_file: Path | None, overrides: Iterable[str] = (),
    platform: Mapping[str, str] | None = None,
) -> Answers:
    """Defaults, then the answers file, then ``--set`` overrides; validated (see
    :func:`gather_answers`)."""
    return validate_answers(gather_answers(answers_file, overrides, platform))



_COMMIT = re.compile(r"[0-9a-f]{40}")


def answer_warnings(answers: Answers) -> list[str]:
    """Valid answers that will probably surprise later: said, not refused."""
    warnings = []
    revision = answers["model_revision"]
    if not _COMMIT.fullmatch(revision):
        warnings.append(
            f"model_revision: {revision!r} is a branch or tag, so a pod restart can pick up "
            "different weights and promotion moves a moving target; pin the commit it points "
            f"to now: git ls-remote https://huggingface.co/{answers['model_id']} {revision}")
    if answers["chart_repository"] == UNCONFIGURED_CHART_REPOSITORY:
        warnings.append(
            f"chart_repository: no platform Helm repository is configured, so the "
            f"kustomizations name {UNCONFIGURED_CHART_REPOSITORY}, which Argo CD cannot pull "
            f"from; set {CHART_REPOSITORY_VARIABLE} (or --chart-repository, or Backstage's "
            "inferenceScaffolder.chartRepository) and run new again")
    if not answers["scaffolder_source"]:
        warnings.append(
            f"scaffolder_source: no source of inference-scaffolder is configured for the "
            f"repository's CI; its first step fails until the repository or organisation "
            f"variable {SCAFFOLDER_SOURCE_VARIABLE} names one (or set {SCAFFOLDER_SOURCE_VARIABLE}"
            " / --scaffolder-source when running new)")
    return warnings


def check_answer(key: str, raw: Any) -> Any:
    """One answer on its own, normalised, as an interactive prompt checks it before asking
    the next (its rules with other answers: :func:`check_rules_between`)."""
    if key not in FIELDS_BY_KEY:
        raise UserError(key, unknown_answer_rule(key))
    reject_template_source({key: raw})
    value = normalise({key: raw})[key]
    answer = FIELDS_BY_KEY[key]
    if answer.required and answer.default in ("", None) and value in ("", None):
        raise UserError(key, "is required (no default)")
    single = validator().evolve(schema=_property_schema(key))
    errors = sorted(single.iter_errors(value), key=lambda e: str(list(e.path)))
    if errors:
        errors[0].path.appendleft(key)
        raise _schema_error_to_user_error(errors[0])
    return value
