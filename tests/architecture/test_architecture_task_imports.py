"""Tasks import only what they use: a step that reads a schema or moves a registry alias starts without pandas.

Each task is a fresh interpreter (a container on Vertex AI and Kubeflow), so a
module-level ``import pandas`` in a shared module costs every task that touches
it about half a second. For each component below, the imports its body makes
run in a fresh process, and the heavy modules they load are compared with what
that task may load.
"""
from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("pandas", "numpy", "pyarrow", "sklearn", "scipy", "skops", "skl2onnx", "onnxruntime", "kserve",
         "tensorflow", "keras", "duckdb", "mlflow", "optuna", "matplotlib")
# component -> the heavy modules its imports may load (at import time; the work may load more)
ALLOWED: dict[str, set[str]] = {
    "data.fingerprint_data": set(),
    "registry.current_champion": set(),
    "registry.register_model": set(),
    "registry.promote_model": set(),
    "registry.fetch_baseline": set(),
    "deployment.deploy_local": set(),
    "deployment.deploy_vertex_endpoint": set(),
    "deployment.deploy_kserve": set(),
    "prediction.fetch_model": set(),
    "monitoring.trigger_retraining": set(),
    "prediction.predict_batch": set(),
    "validation.infer_schema": {"numpy", "pyarrow"},
    "validation.validate_data": {"numpy", "pyarrow"},
    "validation.generate_statistics": {"numpy", "pyarrow"},
    "training.train_sklearn": {"pandas", "numpy", "pyarrow", "sklearn", "scipy"},
    "evaluation.evaluate_model": {"pandas", "numpy", "pyarrow"},
    "serving.infra_validate": {"pandas", "numpy", "pyarrow"},
}

PROBE = """
import json, sys
exec(sys.argv[1])
print(json.dumps(sorted(name for name in json.loads(sys.argv[2]) if name in sys.modules)))
"""


def _body_imports(qualified: str) -> str:
    """The import statements inside one component's function body."""
    import importlib

    capability, name = qualified.split(".")
    function = getattr(importlib.import_module(f"kfp_mlops.components.{capability}.component"), name).python_func
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return "\n".join(ast.unparse(node) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)))


def _loaded(statements: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, statements, json.dumps(HEAVY)], capture_output=True,
                          text=True, check=True, timeout=120)
    return set(json.loads(done.stdout))


GROUPS: dict[frozenset[str], list[str]] = {}
for _component, _allowed in sorted(ALLOWED.items()):
    GROUPS.setdefault(frozenset(_allowed), []).append(_component)


@pytest.mark.parametrize("allowed", sorted(GROUPS, key=sorted), ids=lambda a: "+".join(sorted(a)) or "none")
def test_tasks_import_only_what_they_use(allowed):
    components = GROUPS[allowed]  # one fresh process per allowance; each component alone only on a failure
    bodies = {component: _body_imports(component) for component in components}
    assert all(bodies.values()), "a component imports nothing from the library: is it still a thin wrapper?"
    if _loaded("\n".join(bodies.values())) <= allowed:
        return
    extra = {component: sorted(_loaded(statements) - allowed) for component, statements in bodies.items()}
    pytest.fail(f"tasks import more than they use at start-up: { {c: e for c, e in extra.items() if e} }")


def test_the_probe_sees_a_heavy_import():
    done = subprocess.run([sys.executable, "-c", PROBE, "import pandas", json.dumps(HEAVY)], capture_output=True,
                          text=True, check=True, timeout=120)
    assert {"pandas", "numpy"} <= set(json.loads(done.stdout))
