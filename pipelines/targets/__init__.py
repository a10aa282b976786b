"""Targets as objects: where a pipeline runs, and everything that differs per target.

A :class:`~kfp_mlops.pipelines.targets.base.Target` owns its accelerator and machine
settings, its deploy step, its submission and its command-line options. Every module
of this package that defines a ``Target`` subclass with a ``name`` adds a target:
adding a target means adding one module here (docs/ARCHITECTURE.md shows it).
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

from kfp_mlops.pipelines.targets.base import (
    DATA_SOURCES,
    DeployStep,
    IngestStep,
    SubmitOption,
    Target,
    TuningStep,
)


def discover(package: str = __name__) -> dict[str, Target]:
    """Imports every module of ``package`` and instantiates its named ``Target`` subclasses.

    Returns:
        The targets by name, in their listing order.
    """
    found: dict[str, Target] = {}
    path = importlib.import_module(package).__path__
    for module_info in sorted(pkgutil.iter_modules(path), key=lambda info: info.name):
        module = importlib.import_module(f"{package}.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Target) and cls.__module__ == module.__name__ and "name" in vars(cls):
                found[cls.name] = cls()
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


TARGETS: dict[str, Target] = discover()


def get_target(name: str) -> Target:
    """Returns the target called ``name``.

    Raises:
        ValueError: For an unknown name, listing the known ones.
    """
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; expected one of: {', '.join(TARGETS)}")
    return TARGETS[name]


def compiled_targets() -> tuple[str, ...]:
    """The names of the targets a pipeline is compiled and submitted for (every one but ``local``)."""
    return tuple(name for name, target in TARGETS.items() if target.compiled)


def compiled_target(name: str) -> Target:
    """Returns a compiled target (``vertex``, ``kfp``, ...).

    Raises:
        ValueError: For an unknown name or a target that is not compiled, listing the valid ones.
    """
    target = TARGETS.get(name)
    if target is None or not target.compiled:
        raise ValueError(f"unknown target {name!r}; expected one of: {', '.join(compiled_targets())}")
    return target


__all__ = ["DATA_SOURCES", "TARGETS", "DeployStep", "IngestStep", "SubmitOption", "Target", "TuningStep",
           "compiled_target", "compiled_targets", "discover", "get_target"]
