"""Write the answer-dependent files, validate and commit; the library does the work."""

import json
import sys
from pathlib import Path

CONTEXT = json.loads(r'''{{ cookiecutter | tojson }}''')

from inference_scaffolder.generation.hooks import post_generate  # noqa: E402

sys.exit(post_generate(CONTEXT, Path.cwd()))
