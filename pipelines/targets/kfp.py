"""The ``kfp`` target: open-source Kubeflow Pipelines, with KServe for serving."""
from __future__ import annotations

from typing import Any

from kfp_mlops.pipelines.targets.base import (
    KFP_GPU_RESOURCE,
    DeployStep,
    SubmitOption,
    Target,
    TuningStep,
    check_count,
    trial_image,
)
from kfp_mlops.pipelines.targets.vertex import VERTEX_ACCELERATORS

GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
# The same GPUs as GKE node labels (``cloud.google.com/gke-accelerator``).
GKE_ACCELERATORS: dict[str, str] = {name: name.lower().replace("_", "-") for name in VERTEX_ACCELERATORS}
KFP_COUNTS = (1, 2, 4, 8, 16)


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


class KubeflowTarget(Target):
    """Kubeflow Pipelines: ``nvidia.com/gpu`` with a GKE node selector and toleration; deploy is KServe."""

    name = "kfp"
    order = 20
    description = "open-source Kubeflow Pipelines; deploys a KServe InferenceService"
    submit_options = (
        SubmitOption("--host", "KFP API endpoint, e.g. http://localhost:8080", env="KFP_HOST", required=True),
        SubmitOption("--namespace", "Kubernetes namespace of the run"),
        SubmitOption("--experiment", "experiment name (default: the pipeline's name)"),
    )

    def validate_accelerator(self, accelerator: str | None, count: int = 1) -> None:
        """Checks a GPU model (Vertex name or GKE label) and a count."""
        if not accelerator:
            return
        gke_accelerator(accelerator)
        check_count(count, KFP_COUNTS, f"{accelerator} on Kubeflow Pipelines")

    def _request_accelerator(self, task: Any, accelerator: str, count: int) -> None:
        from kfp import kubernetes

        task.set_accelerator_type(KFP_GPU_RESOURCE)
        task.set_accelerator_limit(count)
        kubernetes.add_node_selector(task, label_key=GKE_ACCELERATOR_LABEL, label_value=gke_accelerator(accelerator))
        kubernetes.add_toleration(task, key=KFP_GPU_RESOURCE, operator="Exists", effect="NoSchedule")

    def apply_machine(self, task: Any, cpu: str | None = None, memory: str | None = None) -> Any:
        """Limits and equal requests, so the scheduler reserves what the task may use."""
        super().apply_machine(task, cpu, memory)
        if cpu:
            task.set_cpu_request(cpu)
        if memory:
            task.set_memory_request(memory)
        return task

    def add_deploy_step(self, step: DeployStep) -> Any:
        """Applies a KServe InferenceService (canary traffic for a new revision)."""
        from kfp_mlops.components.deployment.component import deploy_kserve

        return deploy_kserve(
            name=step.endpoint_name, namespace=step.namespace, model=step.model, serving_image=step.serving_image,
            canary_percent=step.canary_percent, logger_url=step.payload_logger_url,
        ).set_display_name("Deploy KServe InferenceService")

    def add_tuning_step(self, step: TuningStep) -> Any:
        """Katib: one Experiment (TPE, median-stop early stopping) created with the kubernetes client."""
        from kfp_mlops.components.training.component import tune_katib

        return tune_katib(
            train=step.train, eval=step.eval, schema=step.schema, label=step.label, trial_image=trial_image(),
            namespace=step.namespace, trainer=step.trainer, space=step.space, max_trials=step.max_trials,
            parallel_trials=step.parallel_trials, metric=step.metric, estimator=step.estimator, seed=step.seed,
        ).set_display_name("Tune hyperparameters (Katib)")

    def submit(self, package: Any, **options: Any) -> Any:
        """Submits through ``kfp.Client`` (a run, or a recurring run)."""
        from kfp_mlops.pipelines.submission.kfp_host import submit_kfp

        self.require(options)
        return submit_kfp(package, **options)
