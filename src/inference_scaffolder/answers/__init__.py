"""The answers: one vocabulary for cookiecutter variables, answer files and the Backstage form.

- :mod:`.fields` declares each answer once (title, page, help, default, values-schema path);
- :mod:`.schema` builds the answers JSON Schema from those declarations and the chart's values
  schema, so the values schema drives validation, the Backstage form and the TypeScript
  interface;
- :mod:`.loading` reads answers files and ``--set`` pairs and normalises their forms;
- :mod:`.rules` checks them and says which field broke which rule.

The names below are the package's public surface; import them from here.
"""

from inference_scaffolder.answers.fields import (
    ANSWER_FIELDS,
    CHART_REPOSITORY_VARIABLE,
    CREDENTIAL_ENV_NAMES,
    ENGINES,
    ENVIRONMENT_ORDER,
    FIELDS_BY_KEY,
    GPU_TYPES,
    MAX_ANSWER_LENGTH,
    MAX_ANSWERS_FILE_BYTES,
    PLAIN_NAME_ANSWERS,
    PLATFORM_ANSWERS,
    RESERVED_ENV_NAMES,
    SCAFFOLDER_SOURCE_VARIABLE,
    TEMPLATE_DELIMITERS,
    UNCONFIGURED_CHART_REPOSITORY,
    YAML_NON_STRING_RULE,
    AnswerField,
    Answers,
    answer_fields,
    default_answers,
    environment_host,
    owner_name,
    repo_slug,
    served_model_name,
)
from inference_scaffolder.answers.loading import load_answers_file, parse_set_overrides
from inference_scaffolder.answers.rules import (
    RuleBetweenAnswers,
    answer_warnings,
    check_answer,
    check_platform_setting,
    check_rules_between,
    collect_answers,
    gather_answers,
    reject_template_source,
    validate_answers,
)
from inference_scaffolder.answers.schema import answers_json_schema

__all__ = [
    "ANSWER_FIELDS",
    "CHART_REPOSITORY_VARIABLE",
    "CREDENTIAL_ENV_NAMES",
    "ENGINES",
    "ENVIRONMENT_ORDER",
    "FIELDS_BY_KEY",
    "GPU_TYPES",
    "MAX_ANSWERS_FILE_BYTES",
    "MAX_ANSWER_LENGTH",
    "PLAIN_NAME_ANSWERS",
    "PLATFORM_ANSWERS",
    "RESERVED_ENV_NAMES",
    "SCAFFOLDER_SOURCE_VARIABLE",
    "TEMPLATE_DELIMITERS",
    "UNCONFIGURED_CHART_REPOSITORY",
    "YAML_NON_STRING_RULE",
    "AnswerField",
    "Answers",
    "RuleBetweenAnswers",
    "answer_fields",
    "answer_warnings",
    "answers_json_schema",
    "check_answer",
    "check_platform_setting",
    "check_rules_between",
    "collect_answers",
    "default_answers",
    "environment_host",
    "gather_answers",
    "load_answers_file",
    "owner_name",
    "parse_set_overrides",
    "reject_template_source",
    "repo_slug",
    "served_model_name",
    "validate_answers",
]
