"""A values file of the routing repository is written back in its own indentation, so a
registration's diff shows only the service's entries."""

from __future__ import annotations

from pathlib import Path

from inference_scaffolder.registration.documents import read_document
from inference_scaffolder.safe_fs import ConfinedTree


def test_a_dash_alone_on_its_line_does_not_set_the_mapping_indentation(tmp_path: Path) -> None:
    text = "notes:\n    -\n      owner: platform\nlitellm:\n  image: litellm\n"
    (tmp_path / "values.yaml").write_text(text, encoding="utf-8")
    document = read_document(ConfinedTree(tmp_path), "values.yaml")
    assert document is not None
    assert "litellm:\n  image: litellm\n" in document.dump()
