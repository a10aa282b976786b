"""One entry point for both targets: ``submit(pipeline_or_package, target, **options)``."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from kfp_mlops.pipelines.submission.result import SubmissionResult
from kfp_mlops.pipelines.targets import compiled_target


def resolve_package(
    pipeline_or_package: str | os.PathLike,
    target: str,
    out_dir: str | os.PathLike | None = None,
    image_tag: str | None = None,
    image_registry: str | None = None,
    compile_options: dict[str, Any] | None = None,
) -> Path:
    """Returns a compiled file: the given path, or the named pipeline compiled for ``target``.

    Args:
        pipeline_or_package: A compiled ``.yaml``/``.json`` file, or a pipeline
            name (``training``, ...).
        target: ``vertex`` or ``kfp``.
        out_dir: Where to compile; default: a new temporary folder.
        image_tag: Tag of our images; default: the compiler's (``latest``).
        image_registry: Registry of our images; default: the compiler's.
        compile_options: Passed to the pipeline factory.

    Raises:
        ValueError: For an unknown pipeline name or target.
    """
    compiled_target(target)
    path = Path(pipeline_or_package)
    if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"compiled pipeline not found: {path}")
        return path
    from kfp_mlops.pipelines.compiler import compile_pipeline

    kwargs: dict[str, Any] = dict(compile_options or {})
    if image_tag:
        kwargs["image_tag"] = image_tag
    if image_registry:
        kwargs["image_registry"] = image_registry
    folder = out_dir or tempfile.mkdtemp(prefix="kfp-mlops-submit-")
    return compile_pipeline(str(pipeline_or_package), target, folder, **kwargs)


def submit(
    pipeline_or_package: str | os.PathLike,
    target: str,
    parameters: dict[str, Any] | None = None,
    image_tag: str | None = None,
    image_registry: str | None = None,
    compile_options: dict[str, Any] | None = None,
    **options: Any,
) -> SubmissionResult:
    """Submits a pipeline (by name, compiled on the fly) or a compiled file to ``target``.

    Args:
        pipeline_or_package: Pipeline name or compiled file.
        target: A compiled target: ``vertex`` (needs ``project``, ``region``,
            ``pipeline_root``) or ``kfp`` (needs ``host``).
        parameters: Pipeline parameter values, checked against the spec.
        image_tag: When compiling: tag of our images.
        image_registry: When compiling: registry of our images.
        compile_options: When compiling: pipeline factory options.
        **options: The keyword arguments of :func:`submit_vertex` or :func:`submit_kfp`.

    Returns:
        The submission result.

    Raises:
        ValueError: Unknown target or pipeline, bad parameters, missing options.
    """
    package = resolve_package(pipeline_or_package, target, image_tag=image_tag,
                              image_registry=image_registry, compile_options=compile_options)
    return compiled_target(target).submit(package, parameters=parameters, **options)
