"""Validate every answer before the template's files are copied; the library decides.

Cookiecutter runs this hook after it has rendered the answers (answers_guard.py refuses
template syntax in them first) and created the empty project folder; on a refusal it
removes that folder again."""

import json
import sys

# Cookiecutter renders this file with its context; tojson escapes quotes, so the raw
# triple-quoted string always holds valid JSON.
CONTEXT = json.loads(r'''{{ cookiecutter | tojson }}''')

try:
    from inference_scaffolder.generation.hooks import pre_generate
except ImportError:
    print(
        "error: inference-scaffolder is not installed in the Python running cookiecutter "
        "(pip install inference-scaffolder)",
        file=sys.stderr,
    )
    sys.exit(2)

sys.exit(pre_generate(CONTEXT))
