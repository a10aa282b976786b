"""Target-specific resources, applied at compile time: a facade over :mod:`kfp_mlops.pipelines.targets`.

Each target owns its settings (``targets/vertex.py``, ``targets/kfp.py``, ``targets/local.py``):

- **vertex**: ``set_accelerator_type("NVIDIA_L4")`` and ``set_accelerator_limit(n)``
  (Vertex picks a machine that carries them), cpu and memory limits.
- **kfp** (open-source Kubeflow Pipelines): ``set_accelerator_type("nvidia.com/gpu")``
  and ``set_accelerator_limit(n)``, plus, through kfp-kubernetes, a node selector
  on the GPU model (``cloud.google.com/gke-accelerator: nvidia-l4``) and a
  toleration of the ``nvidia.com/gpu`` taint. The compiled file then has a
  second YAML document, the Kubernetes platform spec.
- **local**: kfp.local ignores resources, so nothing is set.

``set_gpu_limit`` is never used: it is deprecated and emits no accelerator type.
Values are string literals, not pipeline parameters, so a bad name or count
fails here, at compile time, with a message that lists the allowed values.
"""
from __future__ import annotations

from typing import Any

from kfp_mlops.pipelines.targets import TARGETS, get_target
from kfp_mlops.pipelines.targets.base import KFP_GPU_RESOURCE, use_gpu_image
from kfp_mlops.pipelines.targets.kfp import (
    GKE_ACCELERATOR_LABEL,
    GKE_ACCELERATORS,
    KFP_COUNTS,
    gke_accelerator,
)
from kfp_mlops.pipelines.targets.vertex import VERTEX_ACCELERATORS

__all__ = [
    "GKE_ACCELERATORS", "GKE_ACCELERATOR_LABEL", "KFP_COUNTS", "KFP_GPU_RESOURCE", "TARGETS", "VERTEX_ACCELERATORS",
    "apply_accelerator", "apply_machine", "gke_accelerator", "gpu_image_for", "validate_accelerator",
]

gpu_image_for = use_gpu_image


def validate_accelerator(target: str, accelerator: str | None, count: int = 1) -> None:
    """Checks an accelerator name and count for a target without touching a task.

    The CLI can call this before compiling, to fail fast.

    Raises:
        ValueError: For an unknown target, accelerator name or a count the
            target does not offer; the message lists the allowed values.
    """
    get_target(target).validate_accelerator(accelerator, count)


def apply_accelerator(task: Any, target: str, accelerator: str | None, count: int = 1) -> Any:
    """Requests accelerators for one task, the way ``target`` expects them.

    Args:
        task: A ``PipelineTask`` (e.g. the Keras trainer's).
        target: A target name (``local``, ``vertex``, ``kfp``).
        accelerator: ``NVIDIA_L4``, ``NVIDIA_TESLA_T4``... (for kfp the GKE
            label ``nvidia-l4`` works too); ``None`` or empty: CPU only.
        count: How many accelerators.

    Returns:
        The task.

    Raises:
        ValueError: For an unknown target, accelerator or count.
    """
    return get_target(target).apply_accelerator(task, accelerator, count)


def apply_machine(task: Any, target: str, cpu: str | None = None, memory: str | None = None) -> Any:
    """Sets cpu and memory for one task (Vertex picks its machine from the limits; kfp gets equal requests).

    Raises:
        ValueError: For an unknown target or a malformed cpu or memory string.
    """
    return get_target(target).apply_machine(task, cpu, memory)
