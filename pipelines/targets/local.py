"""The ``local`` target: kfp.local runs the pipeline in this environment."""
from __future__ import annotations

from typing import Any

from kfp_mlops.pipelines.targets.base import DeployStep, Target


class LocalTarget(Target):
    """kfp.local: resources are ignored, and the deploy step records the local endpoint's model."""

    name = "local"
    order = 0
    description = "kfp.local on this machine; `kfp-mlops serve` serves the deployed champion"
    compiled = False

    def apply_accelerator(self, task: Any, accelerator: str | None, count: int = 1) -> Any:
        """kfp.local ignores accelerators: the task is returned unchanged."""
        return task

    def apply_machine(self, task: Any, cpu: str | None = None, memory: str | None = None) -> Any:
        """kfp.local ignores machine sizes: the task is returned unchanged."""
        return task

    def add_deploy_step(self, step: DeployStep) -> Any:
        """Records the promoted version as the local endpoint's model."""
        from kfp_mlops.components.deployment.component import deploy_local

        return deploy_local(
            registry_uri=step.registry_uri, model_name=step.model_name, version=step.promote.output
        ).set_display_name("Deploy to local endpoint")
