"""Finds the components this package ships, for ``kfp-mlops list`` and publishing."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path

import kfp_mlops.components as components_package


@dataclass
class ComponentEntry:
    """One published component."""

    capability: str
    name: str
    summary: str
    component: object

    @property
    def yaml_path(self) -> Path:
        """Where its published component YAML lives in the source tree."""
        return Path(components_package.__path__[0]) / self.capability / f"{self.name}.yaml"


def list_components() -> list[ComponentEntry]:
    """Returns every ``@dsl.component`` in ``kfp_mlops.components.<capability>.component``."""
    from kfp.dsl.python_component import PythonComponent

    entries = []
    for info in sorted(pkgutil.iter_modules(components_package.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"kfp_mlops.components.{info.name}.component")
        except ModuleNotFoundError as error:
            if error.name == f"kfp_mlops.components.{info.name}.component":
                continue
            raise
        for name, value in vars(module).items():
            if isinstance(value, PythonComponent) and value.python_func.__module__ == module.__name__:
                doc = (value.python_func.__doc__ or "").strip().splitlines()
                entries.append(ComponentEntry(info.name, name, doc[0] if doc else "", value))
    return entries


def publish_component_yamls(entries: list[ComponentEntry] | None = None) -> list[Path]:
    """Compiles every component to its published YAML, next to its source.

    Users load these with ``kfp.components.load_component_from_file``. The
    image tag is the package version, so a published file names a fixed image.
    """
    from importlib.metadata import version

    from kfp import compiler

    from kfp_mlops.components.images import DEFAULT_REGISTRY, family_of, image_name

    paths = []
    for entry in entries or list_components():
        compiler.Compiler().compile(entry.component, str(entry.yaml_path))
        text = entry.yaml_path.read_text()
        image = entry.component.component_spec.implementation.container.image
        text = text.replace(image, image_name(family_of(image), DEFAULT_REGISTRY, version("kfp-mlops")))
        entry.yaml_path.write_text(text)
        paths.append(entry.yaml_path)
    return paths
