"""A platform routing repository for ``register`` tests, in the shape the platform's charts
document: per environment, the inference-infrastructure umbrella values (LiteLLM's
``litellm-proxy.litellm.modelList``) and the models chart values (``backends``, ``models``).

Each environment holds a platform-owned external model, one other service's registration
(``llm-serving/other``, name ``other-model``), comments, quotes and a four-space list layout,
so a test sees whether an edit keeps what is not the service's. :func:`merge` fast-forwards
or merges a branch into main, as a reviewer's merge would.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

GIT_IDENTITY = ["-c", "user.name=Platform Engineer", "-c", "user.email=platform@example.invalid"]
OTHER_SERVICE = "llm-serving/other"
OTHER_MODEL = "other-model"

LITELLM_VALUES = """\
# LiteLLM and the public gateway of {env} (owned by the platform team)
gateway:
  enabled: true
  className: "llm-gateway"   # referenced by HTTPRoutes

litellm-proxy:
  enabled: true
  database:
    internal:
      enabled: true
  litellm:
    # Every model the proxy routes. Keys come from the pod's environment.
    modelList:
      - model_name: gpt-4o  # external provider
        litellm_params:
          model: openai/gpt-4o
          api_key: os.environ/OPENAI_API_KEY
      - model_name: other-model
        litellm_params:
          model: hosted_vllm/other-model
          api_base: http://other.llm-serving.svc.cluster.local:80/v1
          api_key: os.environ/ENGINE_KEY_LLM_SERVING_OTHER
        model_info:
          platform_service: llm-serving/other
"""

MODELS_VALUES = """\
gatewayRef:
  name: ai-gateway

rateLimitPolicy:
  enabled: true
  defaults:
    limits:
      default:
        rates:
          - limit: 100
            window: 1m

backends:
  # Managed providers
  openai-primary:
    resourceName: openai-backend-svc
    schema: OpenAI
    fqdn:
      hostname: api.openai.com
      port: 443
    apiKeySecretRef:
      name: openai-apikey
      key: apiKey
    tlsHostname: api.openai.com
  shared-vllm:
    resourceName: shared-vllm
    schema: OpenAI
    prefix: /v1
    fqdn:
      hostname: shared.llm-shared.svc.cluster.local
      port: 80

models:
  gpt-4:
    enabled: true
    modelMatch: "gpt-4"
    backends:
      primary:
        enabled: true
        ref: openai-primary
        priority: 0
        weight: 100
      failover:
        enabled: true
        ref: shared-vllm
        modelNameOverride: "llama"
        priority: 1
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd, capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def make_routing_repo(root: Path, environments: tuple[str, ...] = ("dev", "prod"),
                      extra: dict[str, str] | None = None, name: str = "routing.git") -> Path:
    """A bare repository (``root/<name>``) whose main has the files above per
    environment, plus ``extra`` (path -> text)."""
    work = root / "routing-work"
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    files = {}
    for env in environments:
        files[f"environments/{env}/inference-infrastructure.yaml"] = LITELLM_VALUES.format(
            env=env)
        files[f"environments/{env}/models.yaml"] = MODELS_VALUES
    files.update(extra or {})
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text, encoding="utf-8")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "Routing values")
    bare = root / name
    bare.parent.mkdir(parents=True, exist_ok=True)
    git(root, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def branch_sha(bare: Path, branch: str) -> str | None:
    done = subprocess.run(["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
                          cwd=bare, capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


def show(bare: Path, ref: str, path: str) -> str:
    """A file's text at ``ref`` (a branch or commit) of the bare repository."""
    return git(bare, "show", f"{ref}:{path}") + "\n"


def commit_count(bare: Path, ref: str) -> int:
    return int(git(bare, "rev-list", "--count", ref))


def merge(bare: Path, branch: str, root: Path) -> None:
    """Merge ``branch`` into main (fast-forward when possible), as a reviewer would."""
    work = root / f"merge-{branch.replace('/', '-')}-{commit_count(bare, 'main')}"
    git(root, "clone", "-q", str(bare), str(work))
    git(work, "merge", "-q", "--no-edit", f"origin/{branch}")
    git(work, "push", "-q", "origin", "main")


def commit_files(bare: Path, root: Path, files: dict[str, str | None], message: str,
                 *, links: dict[str, str] | None = None) -> None:
    """A commit on main writing ``files`` (None: delete) and symbolic ``links``."""
    work = root / f"edit-{commit_count(bare, 'main')}"
    git(root, "clone", "-q", str(bare), str(work))
    for path, text in files.items():
        target = work / path
        if text is None:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for path, destination in (links or {}).items():
        target = work / path
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(destination)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    git(work, "push", "-q", "origin", "main")
