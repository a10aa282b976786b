"""Finds the components this package ships, for ``kfp-mlops list`` and publishing."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path

import kfp_mlops.components as components_package

# The KFP-facing modules of a capability: `component.py`, and `gcpc_component.py` for the
# components typed with Google Cloud Pipeline Components' artifacts (the [gcp] extra).
COMPONENT_MODULES = ("component", "gcpc_component")
OPTIONAL_PACKAGES = ("google_cloud_pipeline_components",)


@dataclass
class ComponentEntry:
    """One published component."""

    capability: str
    name: str
    summary: str
    component: object

    def yaml_path(self, root: Path | None = None) -> Path:
        """Where its published component YAML lives: ``<root>/<capability>/<name>.yaml``.

        Args:
            root: Defaults to the ``components/`` source folder.
        """
        return Path(root or components_package.__path__[0]) / self.capability / f"{self.name}.yaml"


def list_components() -> list[ComponentEntry]:
    """Returns every ``@dsl.component`` in ``kfp_mlops.components.<capability>.component`` (and ``.gcpc_component``)."""
    from kfp.dsl.python_component import PythonComponent

    entries = []
    for info in sorted(pkgutil.iter_modules(components_package.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        for module_name in COMPONENT_MODULES:
            try:
                module = importlib.import_module(f"kfp_mlops.components.{info.name}.{module_name}")
            except ModuleNotFoundError as error:
                # No such module in this capability, or GCPC's types without the [gcp] extra.
                if error.name in (f"kfp_mlops.components.{info.name}.{module_name}", *OPTIONAL_PACKAGES):
                    continue
                raise
            for name, value in vars(module).items():
                if isinstance(value, PythonComponent) and value.python_func.__module__ == module.__name__:
                    doc = (value.python_func.__doc__ or "").strip().splitlines()
                    entries.append(ComponentEntry(info.name, name, doc[0] if doc else "", value))
    return entries


def publish_component_yamls(root: Path | None = None) -> list[Path]:
    """Compiles every component to its published YAML, next to its source.

    Args:
        root: Write under this folder instead of the ``components/`` source folder.

    Users load these with ``kfp.components.load_component_from_file``. The
    image tag is the package version (``images.DEFAULT_TAG``), the same image that a
    component imported in Python names, so a published file names a fixed image.
    """
    from kfp import compiler

    paths = []
    for entry in list_components():
        path = entry.yaml_path(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        compiler.Compiler().compile(entry.component, str(path))
        paths.append(path)
    return paths
