"""One entry point for both targets: ``submit(pipeline_or_package, target, **options)``."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from kfp_mlops.pipelines.submission.result import SubmissionResult

TARGETS = ("vertex", "kfp")


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
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of: {', '.join(TARGETS)}")
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
        target: ``vertex`` (needs ``project``, ``region``, ``pipeline_root``)
            or ``kfp`` (needs ``host``).
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
    if target == "vertex":
        from kfp_mlops.pipelines.submission.vertex import submit_vertex

        missing = [key for key in ("project", "region", "pipeline_root") if not options.get(key)]
        if missing:
            raise ValueError(f"target vertex needs: {', '.join(missing)}")
        return submit_vertex(package, parameters=parameters, **options)
    from kfp_mlops.pipelines.submission.kfp_host import submit_kfp

    if not options.get("host"):
        raise ValueError("target kfp needs: host")
    return submit_kfp(package, parameters=parameters, **options)
