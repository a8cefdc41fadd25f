"""The service repository's half of a registration change: whether the environment serves
its model to clients at all (``serving.enabled``).

Deregistering removes the routers' entries, but the service's own public Gateway and
HTTPRoute would still serve the name; so ``--disable`` and ``--remove`` turn serving off in
the environment's values, and registering again turns it back on. The file is written in the
service repository (DIR) and not committed: it goes through the team's own review and
deployment like any other change of theirs, and the command says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from inference_scaffolder.registration.entries import Action
from inference_scaffolder.registration.facts import ServiceFacts


@dataclass(frozen=True)
class ServiceChange:
    """What happened (or, in a dry run, would happen) to the service's values file."""

    path: str
    serving: bool  # the state the environment is set to
    changed: bool  # the file differs from before (would differ, in a dry run)
    written: bool
    committed: bool = False

    def as_json(self) -> dict[str, object]:
        return asdict(self)

    def line(self) -> str:
        state = "on" if self.serving else "off (serving.enabled: false)"
        if not self.changed:
            return f"service repository: {self.path}: serving already {state}"
        if not self.written:
            return f"service repository: {self.path}: would turn serving {state}"
        exposure = ("until then the service's own public Gateway and HTTPRoute still serve "
                    "the name" if not self.serving else "until then nothing public serves it")
        return (f"service repository: {self.path}: serving turned {state}, not committed: "
                f"commit and deploy it ({exposure})")


def wanted_serving(action: Action) -> bool:
    return action is Action.register


def apply_public_serving(service_dir: Path, environment: str, facts: ServiceFacts,
                         action: Action, *, dry_run: bool) -> ServiceChange:
    """Set ``serving.enabled`` for the action (nothing is written in a dry run)."""
    from inference_scaffolder.service.serving_state import set_public_serving, values_path_shown

    wanted = wanted_serving(action)
    path = values_path_shown(environment)
    if dry_run:
        return ServiceChange(path, wanted, facts.public_serving != wanted, written=False)
    changed = set_public_serving(service_dir, environment, wanted)
    return ServiceChange(path, wanted, changed, written=changed)
