"""The capacity check runs inside `new` and `validate` when the answers name a GPU type and
a local config.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from common import EXAMPLES

CLI = str(Path(sys.executable).parent / "inference-scaffolder")
# Llama-3-70B's published architecture (config.json fields the estimate reads).
LLAMA_70B = {
    "_name_or_path": "meta-llama/Meta-Llama-3-70B-Instruct",
    "architectures": ["LlamaForCausalLM"], "hidden_size": 8192, "intermediate_size": 28672,
    "num_attention_heads": 64, "num_hidden_layers": 80, "num_key_value_heads": 8,
    "vocab_size": 128256, "max_position_embeddings": 8192, "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}


def new(tmp_path: Path, *sets: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(LLAMA_70B))
    args = [CLI, "new", "--answers", str(EXAMPLES / "vllm-llama-8b.yaml"), "--no-input",
            "--output-dir", str(tmp_path / "out"), "--no-git", "--json",
            "--set", "model_id=meta-llama/Meta-Llama-3-70B-Instruct", "--set", "gpu_type=H100-80",
            "--set", f"model_config={config}", "--set", "max_total_tokens=8192",
            "--set", "max_input_tokens=4096", "--set", "quantization=", *sets]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def test_new_refuses_a_70b_model_on_one_80gb_gpu(tmp_path: Path) -> None:
    done = new(tmp_path, "--set", "gpu_count=1")
    assert done.returncode == 1  # valid answers, failed check
    line = done.stderr.strip()
    assert line.startswith("error: gpu_type: meta-llama/Meta-Llama-3-70B-Instruct does not fit:")
    assert "GiB usable on 1×H100-80" in line
    assert not (tmp_path / "out" / "llama31-8b-instruct").exists()


def test_new_accepts_it_on_four_and_validate_rechecks_each_environment(tmp_path: Path) -> None:
    done = new(tmp_path, "--set", "gpu_count=4")
    assert done.returncode == 0, done.stderr
    repo = Path(json.loads(done.stdout)["output"])
    checks = [o for e in json.loads(done.stdout)["validation"]["environments"]
              for o in e["objects"] if o["kind"] == "CapacityCheck"]
    assert [c["ok"] for c in checks] == [True, True]
    # Someone raises prod's context to a million tokens: its KV cache no longer fits.
    prod = repo / "environments" / "prod" / "values.yaml"
    values = yaml.safe_load(prod.read_text())
    values["model"]["maxTotalTokens"] = 1048576
    prod.write_text(yaml.safe_dump(values))
    report = subprocess.run([CLI, "validate", str(repo), "--json", "--skip-kustomize-build"],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 1
    by_env = {e["environment"]: e for e in json.loads(report.stdout)["environments"]}
    assert by_env["dev"]["ok"] is True
    assert any(p.startswith("CapacityCheck/prod:") and "does not fit" in p
               for p in by_env["prod"]["problems"]), by_env["prod"]["problems"]


def test_the_model_config_travels_with_the_repository(tmp_path: Path) -> None:
    """The capacity check reruns on another machine (or after the original file is gone);
    when it cannot run, validate says so instead of passing silently."""
    done = new(tmp_path, "--set", "gpu_count=4")
    assert done.returncode == 0, done.stderr
    repo = Path(json.loads(done.stdout)["output"])
    (tmp_path / "config.json").unlink()  # the path given to `new` no longer exists
    record = yaml.safe_load((repo / ".inference-scaffolder" / "answers.yaml").read_text())
    assert record["answers"]["model_config"] == ".inference-scaffolder/model-config.json"
    assert json.loads((repo / ".inference-scaffolder" / "model-config.json").read_text()) == \
        LLAMA_70B
    report = subprocess.run([CLI, "validate", str(repo), "--json", "--skip-kustomize-build"],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stdout
    environments = json.loads(report.stdout)["environments"]
    assert [o["kind"] for e in environments for o in e["objects"]].count("CapacityCheck") == 2

    (repo / ".inference-scaffolder" / "model-config.json").unlink()
    report = subprocess.run([CLI, "validate", str(repo), "--skip-kustomize-build"],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0
    assert "note: dev: capacity check skipped: the model config" in report.stderr
    assert "model-config.json is missing" in " ".join(report.stderr.split())


@pytest.mark.parametrize("recorded", ["../outside.json", "ABSOLUTE", ".git/model.json"])
def test_a_record_pointing_outside_the_repository_is_not_read(
    tmp_path: Path, recorded: str
) -> None:
    """The answers record is anyone's edit: validate reads no model config outside the tree,
    nor in ``.git`` (a checkout's credentials are in its config)."""
    done = new(tmp_path, "--set", "gpu_count=4")
    assert done.returncode == 0, done.stderr
    repo = Path(json.loads(done.stdout)["output"])
    outside = repo.parent / "outside.json"
    outside.write_text(json.dumps(LLAMA_70B))
    record_file = repo / ".inference-scaffolder" / "answers.yaml"
    record = yaml.safe_load(record_file.read_text())
    record["answers"]["model_config"] = str(outside) if recorded == "ABSOLUTE" else recorded
    (repo / ".git").mkdir(exist_ok=True)
    (repo / ".git" / "model.json").write_text(json.dumps(LLAMA_70B))  # read, it is checked
    record_file.write_text(yaml.safe_dump(record))
    report = subprocess.run([CLI, "validate", str(repo), "--json", "--skip-kustomize-build"],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stdout
    environments = json.loads(report.stdout)["environments"]
    assert not [o for e in environments for o in e["objects"] if o["kind"] == "CapacityCheck"]
    assert all("is outside the repository" in " ".join(e["notes"]) for e in environments)


def test_validate_refuses_a_hand_edited_cache_smaller_than_the_weights(tmp_path: Path) -> None:
    """The cache is sized to the model by new; someone shrinks prod's by hand: the download
    would fill it and the pod be evicted mid-download."""
    done = new(tmp_path, "--set", "gpu_count=4")
    assert done.returncode == 0, done.stderr
    repo = Path(json.loads(done.stdout)["output"])
    prod = repo / "environments" / "prod" / "values.yaml"
    values = yaml.safe_load(prod.read_text())
    assert values["modelStorage"]["sizeLimit"]  # sized by new
    values["modelStorage"]["sizeLimit"] = "40Gi"
    prod.write_text(yaml.safe_dump(values))
    report = subprocess.run([CLI, "validate", str(repo), "--json", "--skip-kustomize-build"],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 1, report.stderr
    by_env = {e["environment"]: e for e in json.loads(report.stdout)["environments"]}
    assert by_env["dev"]["ok"] is True
    assert [p for p in by_env["prod"]["problems"] if "model cache" in p] == [
        "CapacityCheck/prod: the model cache (40Gi) is smaller than the model's weights "
        "(131.4 GiB estimated from its config.json): the download would not fit"]
