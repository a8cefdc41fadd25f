"""A rollout, scale-down or node drain does not cut the answers a vLLM pod is streaming.

The real vLLM (tests/support/serving_programs.py: PyPI's CPU build, a tiny local model) runs
the container arguments the chart renders for prod, with only the model, host and port
swapped. Streams are opened, then the engine is ended the way the kubelet ends the pod after
its preStop hook (tests/support/drain.py): SIGTERM to the main process, SIGKILL once the
rest of the grace period has passed.

With the rendered drain setting (vLLM ``--shutdown-timeout``), every stream in flight gets
all its tokens and ``[DONE]``, a new request is turned away, and the process exits before
the kubelet would kill it. The same run without the flag (vLLM's default, abort on SIGTERM)
cuts every stream in flight, although the grace period is just as long: the flag is what
makes the difference.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from chart_render import generated, render_list
from common import EXAMPLES
from drain import (
    ENGINE_SHUTDOWN_STARTED,
    SHUTDOWN_TIMEOUT_FLAG,
    DrainSettings,
    StreamBatch,
    drain_settings,
    exits_within,
    kill_container,
    logged_draining_count,
    new_request_status,
    send_sigterm,
    streams_in_flight,
    wait_for_log,
    warm_up,
    without_drain_flag,
)
from serving_programs import (
    Objects,
    RunningEngine,
    fake_vault,
    require_real_serving,
    running_engine,
)

ENVIRONMENT = "prod"
STREAMS = 4
# The example service on one GPU and without an engine key: the drain does not depend on
# either, and one tensor-parallel rank is what two cores serve fastest.
ANSWERS = {"gpu_count": 1, "extra_secrets": [], "image_pull_secret": False}


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Objects]:
    """The example service generated and rendered for prod."""
    require_real_serving()
    answers = yaml.safe_load((EXAMPLES / "vllm-llama-8b.yaml").read_text(encoding="utf-8"))
    answers.update(ANSWERS)
    repo = generated(answers, tmp_path_factory.mktemp("drain") / "generated").output
    return repo, render_list(repo, ENVIRONMENT)


@pytest.fixture
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short folder: vLLM's IPC sockets live below it, and a socket path has at most 107
    characters (a test's own tmp_path, named after the test, is too long)."""
    return tmp_path_factory.mktemp("e")


def rendered_drain(objects: Objects) -> DrainSettings:
    """The rendered drain settings; a chart that renders none fails here, before any engine
    starts."""
    settings = drain_settings(objects)
    if settings.shutdown_timeout is None:
        pytest.fail(f"the rendered vLLM arguments have no {SHUTDOWN_TIMEOUT_FLAG}: vLLM's "
                    "default (0) aborts every in-flight request on SIGTERM")
    assert settings.shutdown_timeout > 0, settings
    assert settings.grace_seconds >= settings.prestop_seconds + settings.shutdown_timeout, (
        f"the grace period does not cover the preStop and the drain: {settings}")
    return settings


def end_like_the_kubelet(engine: RunningEngine,
                         settings: DrainSettings) -> tuple[StreamBatch, int, int | None, bool]:
    """Open the streams, SIGTERM the engine, send one new request once the engine has taken
    the signal, and give the process the rest of the grace period before killing it.

    Returns the streams, how many were in flight at the SIGTERM, the new request's status
    (None: refused) and whether the process exited on its own in time."""
    model = engine.served_name
    warm_up(engine.url, model, STREAMS)
    batch = streams_in_flight(engine.url, model, STREAMS,
                              read_timeout=settings.grace_seconds + 60)
    send_sigterm(engine.server)
    sigkill_at = time.monotonic() + settings.after_prestop_seconds
    in_flight = batch.unfinished()
    wait_for_log(engine.server, ENGINE_SHUTDOWN_STARTED, settings.after_prestop_seconds)
    status = new_request_status(engine.url, model)
    exited = exits_within(engine.server, max(0.0, sigkill_at - time.monotonic()))
    kill_container(engine.server)
    batch.join(60)
    return batch, in_flight, status, exited


@pytest.mark.slow
def test_in_flight_streams_finish_and_new_requests_are_turned_away_on_sigterm(
        prod: tuple[Path, Objects], workdir: Path) -> None:
    repo, objects = prod
    settings = rendered_drain(objects)
    with running_engine("prod-drain", repo, ENVIRONMENT, objects, fake_vault(objects),
                        workdir) as engine:
        batch, in_flight, status, exited = end_like_the_kubelet(engine, settings)
        log = engine.server.tail(60)
        draining = logged_draining_count(engine.server)
    assert in_flight == STREAMS, "every stream must still be open when SIGTERM is sent"
    # The engine's own count: it was still generating when the signal came, and waited. On a
    # busy machine the API server may still be sending a stream the engine had finished.
    assert draining is not None and 1 <= draining <= STREAMS, \
        f"vLLM drained {draining} requests:\n{log}"
    outcomes = "\n".join(s.outcome() for s in batch.streams)
    assert all(s.completed() for s in batch.streams), f"{outcomes}\n--- vLLM log ---\n{log}"
    # Not served: the connection is refused, or vLLM answers an error without doing the work.
    assert status is None or status >= 500, f"a new request got HTTP {status} while draining"
    assert exited, (f"vLLM was still running {settings.after_prestop_seconds}s after SIGTERM, "
                    f"when the kubelet kills it:\n{log}")


@pytest.mark.slow
def test_without_the_rendered_shutdown_timeout_sigterm_cuts_the_streams_in_flight(
        prod: tuple[Path, Objects], workdir: Path) -> None:
    repo, rendered = prod
    settings = rendered_drain(rendered)
    objects = without_drain_flag(rendered)
    assert drain_settings(objects).shutdown_timeout is None
    with running_engine("prod-no-drain", repo, ENVIRONMENT, objects, fake_vault(objects),
                        workdir) as engine:
        batch, in_flight, _, _ = end_like_the_kubelet(engine, settings)
        log = engine.server.log.read_text(errors="replace")
    assert in_flight == STREAMS, "every stream must still be open when SIGTERM is sent"
    # vLLM's own account of the SIGTERM: abort, no wait (with the flag: mode=drain).
    assert "stopping engine client mode=abort timeout=0s" in log, log[-3000:]
    # On a busy machine the API server may still be sending a stream the engine finished
    # before the signal; every stream the engine was still generating is cut.
    cut = [s for s in batch.streams if not s.completed()]
    assert cut, ("every stream completed without the drain setting:\n"
                 + "\n".join(s.outcome() for s in batch.streams))
