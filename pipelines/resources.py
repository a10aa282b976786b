"""Target-specific resources, applied at compile time, in one place.

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

TARGETS = ("local", "vertex", "kfp")
KFP_GPU_RESOURCE = "nvidia.com/gpu"
GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"

# Vertex AI accelerator type -> the counts its machine types offer.
VERTEX_ACCELERATORS: dict[str, tuple[int, ...]] = {
    "NVIDIA_TESLA_T4": (1, 2, 4),
    "NVIDIA_TESLA_P4": (1, 2, 4),
    "NVIDIA_TESLA_P100": (1, 2, 4),
    "NVIDIA_TESLA_V100": (1, 2, 4, 8),
    "NVIDIA_L4": (1, 2, 4, 8),
    "NVIDIA_TESLA_A100": (1, 2, 4, 8, 16),
    "NVIDIA_A100_80GB": (1, 2, 4, 8),
    "NVIDIA_H100_80GB": (1, 2, 4, 8),
    "NVIDIA_H100_MEGA_80GB": (8,),
    "NVIDIA_H200_141GB": (8,),
}
# The same GPUs as GKE node labels (``cloud.google.com/gke-accelerator``).
GKE_ACCELERATORS: dict[str, str] = {
    name: name.lower().replace("_", "-") for name in VERTEX_ACCELERATORS
}
KFP_COUNTS = (1, 2, 4, 8, 16)


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of: {', '.join(TARGETS)}")


def _check_count(count: Any, allowed: tuple[int, ...], what: str) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count not in allowed:
        raise ValueError(
            f"invalid accelerator count {count!r} for {what}; allowed: {', '.join(map(str, allowed))}"
        )
    return count


def gke_accelerator(accelerator: str) -> str:
    """Returns the GKE node label value of an accelerator.

    Args:
        accelerator: A Vertex name (``NVIDIA_L4``) or a GKE label (``nvidia-l4``).

    Raises:
        ValueError: Naming the accelerator and listing the known ones.
    """
    if accelerator in GKE_ACCELERATORS:
        return GKE_ACCELERATORS[accelerator]
    if accelerator in GKE_ACCELERATORS.values():
        return accelerator
    raise ValueError(
        f"unknown accelerator {accelerator!r} for target 'kfp'; expected one of: "
        f"{', '.join(GKE_ACCELERATORS)} (or their GKE labels: {', '.join(GKE_ACCELERATORS.values())})"
    )


def validate_accelerator(target: str, accelerator: str | None, count: int = 1) -> None:
    """Checks an accelerator name and count for a target without touching a task.

    The CLI can call this before compiling, to fail fast.

    Raises:
        ValueError: For an unknown target, accelerator name or a count the
            target does not offer; the message lists the allowed values.
    """
    _check_target(target)
    if not accelerator or target == "local":
        return
    if target == "vertex":
        if accelerator not in VERTEX_ACCELERATORS:
            raise ValueError(
                f"unknown accelerator {accelerator!r} for target 'vertex'; expected one of: "
                f"{', '.join(VERTEX_ACCELERATORS)}"
            )
        _check_count(count, VERTEX_ACCELERATORS[accelerator], f"{accelerator} on Vertex AI")
    else:
        gke_accelerator(accelerator)
        _check_count(count, KFP_COUNTS, f"{accelerator} on Kubeflow Pipelines")


def gpu_image_for(task: Any) -> None:
    """Moves a task that runs in our ``tf`` image to the ``gpu`` image family.

    Other images are left alone. The compiler retags the image afterwards.
    """
    from kfp_mlops.components.images import family_of, image_name

    spec = getattr(task, "container_spec", None)
    if spec is not None and family_of(spec.image or "") == "tf":
        task.set_container_image(image_name("gpu"))


def apply_accelerator(task: Any, target: str, accelerator: str | None, count: int = 1) -> Any:
    """Requests accelerators for one task, the way ``target`` expects them.

    Args:
        task: A ``PipelineTask`` (e.g. the Keras trainer's).
        target: ``local``, ``vertex`` or ``kfp``.
        accelerator: ``NVIDIA_L4``, ``NVIDIA_TESLA_T4``... (for kfp the GKE
            label ``nvidia-l4`` works too); ``None`` or empty: CPU only.
        count: How many accelerators.

    Returns:
        The task.

    Raises:
        ValueError: For an unknown target, accelerator or count.
    """
    validate_accelerator(target, accelerator, count)
    if not accelerator or target == "local":
        return task
    gpu_image_for(task)
    if target == "vertex":
        task.set_accelerator_type(accelerator)
        task.set_accelerator_limit(count)
        return task
    from kfp import kubernetes

    task.set_accelerator_type(KFP_GPU_RESOURCE)
    task.set_accelerator_limit(count)
    kubernetes.add_node_selector(task, label_key=GKE_ACCELERATOR_LABEL, label_value=gke_accelerator(accelerator))
    kubernetes.add_toleration(task, key=KFP_GPU_RESOURCE, operator="Exists", effect="NoSchedule")
    return task


def apply_machine(task: Any, target: str, cpu: str | None = None, memory: str | None = None) -> Any:
    """Sets cpu and memory for one task (Vertex picks its machine from the limits).

    Args:
        task: A ``PipelineTask``.
        target: ``local``, ``vertex`` or ``kfp``. kfp also gets equal requests,
            so the scheduler reserves what the task may use.
        cpu: e.g. ``"4"`` or ``"500m"``; ``None`` leaves the default.
        memory: e.g. ``"16G"``; ``None`` leaves the default.

    Returns:
        The task.

    Raises:
        ValueError: For an unknown target or a malformed cpu or memory string.
    """
    _check_target(target)
    if target == "local":
        return task
    try:
        if cpu:
            task.set_cpu_limit(cpu)
            if target == "kfp":
                task.set_cpu_request(cpu)
        if memory:
            task.set_memory_limit(memory)
            if target == "kfp":
                task.set_memory_request(memory)
    except ValueError as error:
        raise ValueError(f"invalid cpu {cpu!r} or memory {memory!r} for target {target!r}: {error}") from None
    return task
