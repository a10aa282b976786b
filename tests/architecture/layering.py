"""The layering rules of docs/ARCHITECTURE.md, checked on the source tree with the ast module.

Rules:
- the library (every module under ``components/`` but the ``component.py`` wrappers and
  ``images.py``, the decorator that sets each family's image) never imports kfp;
- nothing outside ``pipelines/cli`` imports the CLI;
- nothing under ``components/`` imports ``kfp_mlops.pipelines``;
- a capability (``components/<capability>/``) imports only the shared core and itself;
- the core (``components/core/``) imports only itself.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "kfp_mlops"
KFP_PACKAGES = ("kfp", "google_cloud_pipeline_components")
# What every capability may use: the shared core package, and the image families' decorator.
SHARED = ("core", "images")
# Modules that wrap the library for KFP: they may import kfp (and GCPC's artifact types).
KFP_FACING = ("component.py", "gcpc_component.py", "images.py")
CROSS_CAPABILITY = "a capability imports only the shared core and itself"
CORE_ONLY = "the core imports only itself"


@dataclass(frozen=True)
class Violation:
    """One broken rule: the importing file, the imported module and the rule."""

    path: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: imports {self.imported} ({self.rule})"


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _imports(path: Path, module: str) -> list[str]:
    """Every module that ``path`` imports, at any depth of the file, with relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.append(prefix)
            names.extend(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def _is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(root: Path) -> list[Violation]:
    """Checks the tree under ``root`` (a folder holding ``components/`` and ``pipelines/``)."""
    found: list[Violation] = []
    for folder in ("components", "pipelines"):
        for path in sorted((root / folder).rglob("*.py")):
            module = _module_name(root, path)
            rel = str(path.relative_to(root))
            capability = path.relative_to(root / "components").parts[0] if folder == "components" else ""
            for name in set(_imports(path, module)):
                if folder == "components" and path.name not in KFP_FACING and any(
                        _is_under(name, p) for p in KFP_PACKAGES):
                    found.append(Violation(rel, name, "the library never imports kfp"))
                if not rel.startswith("pipelines/cli/") and _is_under(name, f"{PACKAGE}.pipelines.cli"):
                    found.append(Violation(rel, name, "nothing imports the CLI"))
                if folder == "components" and _is_under(name, f"{PACKAGE}.pipelines"):
                    found.append(Violation(rel, name, "components never import pipelines"))
                if folder == "components" and name.startswith(f"{PACKAGE}.components."):
                    target = name.split(".")[2]
                    if capability == "core" and target != "core":
                        found.append(Violation(rel, f"{PACKAGE}.components.{target}", CORE_ONLY))
                    elif capability != target and target not in SHARED and not capability.endswith(".py"):
                        found.append(Violation(rel, f"{PACKAGE}.components.{target}", CROSS_CAPABILITY))
    return sorted(set(found), key=str)


def cross_capability_edges(found: list[Violation]) -> set[tuple[str, str]]:
    """The (importing capability, imported capability) pairs among ``found``."""
    return {(Path(v.path).parts[1], v.imported.split(".")[2]) for v in found if v.rule == CROSS_CAPABILITY}
