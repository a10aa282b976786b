"""Compiles one pipeline definition for a target: ``vertex`` or ``kfp``.

Target-specific settings are applied here and by the target objects of
:mod:`kfp_mlops.pipelines.targets`, nowhere else:

- image references: every image of ours gets the chosen registry and tag;
- accelerators, machine sizes, node selectors, tolerations, the ``gpu``
  image family and the deploy step, through the pipeline factory's ``target``
  argument.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from kfp_mlops.components.images import DEFAULT_REGISTRY, DEFAULT_TAG, family_of, image_name
from kfp_mlops.pipelines.targets import compiled_target


def pipeline_factories() -> dict[str, Callable[..., Callable]]:
    """Returns the factories of every pipeline, by name."""
    from kfp_mlops.pipelines import batch_prediction, monitoring, training, tuning

    return {
        "training": training.build_training_pipeline,
        "batch-prediction": batch_prediction.build_batch_prediction_pipeline,
        "monitoring": monitoring.build_monitoring_pipeline,
        "tuning": tuning.build_tuning_pipeline,
    }


def factory_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Keeps the ``options`` that pipeline ``name``'s factory takes (its keyword parameters but ``target``)."""
    import inspect

    factory = pipeline_factories().get(name)
    if factory is None:
        return {}  # compile_pipeline names the unknown pipeline
    accepted = set(inspect.signature(factory).parameters) - {"target"}
    return {key: value for key, value in options.items() if key in accepted}


def _retag(value: Any, registry: str, tag: str, digests: Mapping[str, str]) -> Any:
    """Returns ``value`` with every default image reference of ours retagged (or pinned), recursively."""
    if isinstance(value, dict):
        return {key: _retag(item, registry, tag, digests) for key, item in value.items()}
    if isinstance(value, list):
        return [_retag(item, registry, tag, digests) for item in value]
    if isinstance(value, str) and value.startswith(DEFAULT_REGISTRY + "/"):
        family = family_of(value)
        if family is not None:
            if digests and family not in digests:
                raise ValueError(f"no image digest for the {family!r} image; digests given for: "
                                 f"{', '.join(sorted(digests))}")
            return image_name(family, registry, tag, digest=digests.get(family, ""))
    return value


def retag_images(docs: list[dict], registry: str, tag: str, digests: Mapping[str, str] | None = None) -> list[dict]:
    """Points every image reference of ours (executors, parameter defaults) at ``registry`` and ``tag``.

    With ``digests`` (``{family: "sha256:..."}``), every image is pinned by digest instead of
    the tag. Foreign images are left alone. (Which family a task runs in, e.g. ``gpu``
    for an accelerated Keras task, is set on the task by its target.)

    Raises:
        ValueError: When ``digests`` lacks a family that the pipeline uses.
    """
    return [_retag(doc, registry, tag, digests or {}) for doc in docs]


def compile_pipeline(
    name: str,
    target: str,
    out_dir: str | os.PathLike,
    image_tag: str = DEFAULT_TAG,
    image_registry: str = DEFAULT_REGISTRY,
    image_digests: Mapping[str, str] | None = None,
    **options: Any,
) -> Path:
    """Compiles pipeline ``name`` for ``target`` into ``<out_dir>/<name>.yaml``.

    Args:
        name: A pipeline name from :func:`pipeline_factories`.
        target: A compiled target (``vertex``, ``kfp``). A kfp file may hold a second YAML
            document, the Kubernetes platform spec; ``aiplatform.PipelineJob``
            cannot load that, hence one file per target.
        out_dir: Output folder, created if needed.
        image_tag: Tag of our component images, e.g. a commit SHA.
        image_registry: Registry prefix of our images.
        image_digests: ``{family: "sha256:..."}``: pin every image of ours by digest
            (:mod:`kfp_mlops.pipelines.image_digests` reads or resolves them).
        **options: Passed to the pipeline factory (``trainer``, ``accelerator``,
            ``accelerator_count``, ...).

    Returns:
        The compiled file's path.

    Raises:
        ValueError: For an unknown pipeline or target, or invalid options.
    """
    from kfp import compiler

    factories = pipeline_factories()
    if name not in factories:
        raise ValueError(f"unknown pipeline {name!r}; available: {', '.join(sorted(factories))}")
    compiled_target(target)
    pipeline = factories[name](target=target, **options)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    path.write_text(yaml.safe_dump_all(retag_images(docs, image_registry, image_tag, image_digests), sort_keys=True))
    return path
