"""The layering rules hold on the repository, and a broken rule fails the suite (so `.ci/run` fails)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import layering  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

# Cross-capability imports: none. What capabilities share lives in components/core/ (issue 10); a
# capability reaches another only through core's interfaces (the registry API, the model contract).
KNOWN_CROSS_CAPABILITY: set[tuple[str, str]] = set()


def test_the_library_never_imports_kfp_and_nothing_imports_the_cli():
    broken = [str(v) for v in layering.violations(ROOT) if v.rule != layering.CROSS_CAPABILITY]
    assert not broken, "\n".join(broken)


def test_capabilities_gain_no_new_cross_imports():
    edges = layering.cross_capability_edges(layering.violations(ROOT))
    assert edges - KNOWN_CROSS_CAPABILITY == set(), "new cross-capability imports: move the shared code to core"
    assert KNOWN_CROSS_CAPABILITY - edges == set(), "an edge is gone: remove it from KNOWN_CROSS_CAPABILITY"


@pytest.mark.parametrize("source, rule", [
    ("import kfp\n", "the library never imports kfp"),
    ("def f():\n    from kfp import dsl\n", "the library never imports kfp"),
    ("from kfp_mlops.pipelines.cli.main import main\n", "nothing imports the CLI"),
    ("from kfp_mlops.pipelines import training\n", "components never import pipelines"),
    ("from ..registry import open_registry\n", layering.CROSS_CAPABILITY),
])
def test_a_broken_rule_is_reported(tmp_path, source, rule):
    for folder in ("components/data", "components/registry", "pipelines/cli"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "components" / "__init__.py").write_text("")
    (tmp_path / "pipelines" / "__init__.py").write_text("")
    (tmp_path / "components" / "data" / "component.py").write_text("from kfp import dsl\n")  # allowed
    (tmp_path / "components" / "data" / "ingest.py").write_text(source)
    found = layering.violations(tmp_path)
    assert rule in {v.rule for v in found}
    assert {v.path for v in found} == {"components/data/ingest.py"}


def test_the_core_importing_a_capability_is_reported(tmp_path):
    for folder in ("components/core", "components/training", "pipelines"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "components" / "__init__.py").write_text("")
    (tmp_path / "components" / "core" / "model_io.py").write_text(
        "def load():\n    from kfp_mlops.components.training import sklearn_trainer\n")
    found = layering.violations(tmp_path)
    assert [(v.path, v.rule) for v in found] == [("components/core/model_io.py", layering.CORE_ONLY)]
