"""The ``vertex`` target: Vertex AI Pipelines, a Vertex AI endpoint with a canary split."""
from __future__ import annotations

from typing import Any

from kfp_mlops.pipelines.targets.base import (
    DeployStep,
    IngestStep,
    SubmitOption,
    Target,
    TuningStep,
    check_count,
    trial_image,
)

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


class VertexTarget(Target):
    """Vertex AI: ``set_accelerator_type(NVIDIA_L4)`` picks the machine; deploy is a Vertex canary."""

    name = "vertex"
    order = 10
    description = "Vertex AI Pipelines; deploys to a Vertex AI endpoint"
    submit_options = (
        SubmitOption("--project", "Google Cloud project", env="GOOGLE_CLOUD_PROJECT", required=True),
        SubmitOption("--region", "Vertex AI region", env="GOOGLE_CLOUD_REGION", required=True),
        SubmitOption("--api-endpoint", "override of the Vertex AI API endpoint"),
    )

    def validate_accelerator(self, accelerator: str | None, count: int = 1) -> None:
        """Checks a Vertex accelerator type and a count its machines offer."""
        if not accelerator:
            return
        if accelerator not in VERTEX_ACCELERATORS:
            raise ValueError(
                f"unknown accelerator {accelerator!r} for target 'vertex'; expected one of: "
                f"{', '.join(VERTEX_ACCELERATORS)}"
            )
        check_count(count, VERTEX_ACCELERATORS[accelerator], f"{accelerator} on Vertex AI")

    def _request_accelerator(self, task: Any, accelerator: str, count: int) -> None:
        task.set_accelerator_type(accelerator)
        task.set_accelerator_limit(count)

    data_sources = ("file", "bigquery")

    def add_ingest_step(self, step: IngestStep) -> Any:
        """For a ``bigquery`` source, the split runs as BigQuery query jobs that export Parquet shards."""
        if step.source != "bigquery":
            return super().add_ingest_step(step)
        from kfp_mlops.components.data.component import fingerprint_data
        from kfp_mlops.components.data.gcpc_component import split_bigquery

        fingerprint = fingerprint_data(data_path=step.data_path).set_display_name("Fingerprint BigQuery source")
        fingerprint.set_caching_options(False)
        return split_bigquery(
            data_path=step.data_path, label=step.label, eval_fraction=step.eval_fraction,
            test_fraction=step.test_fraction, project=step.project, data_fingerprint=fingerprint.output,
        ).set_display_name("Split data in BigQuery")

    def add_deploy_step(self, step: DeployStep) -> Any:
        """Deploys to a Vertex AI endpoint with a canary split, health-checked before promotion."""
        from kfp_mlops.components.deployment.component import deploy_vertex_endpoint

        return deploy_vertex_endpoint(
            project=step.project, location=step.location, endpoint_name=step.endpoint_name, model=step.model,
            examples=step.examples, label=step.label, serving_image=step.serving_image,
            canary_percent=step.canary_percent, log_sampling_rate=step.log_sampling_rate,
        ).set_display_name("Deploy to Vertex AI endpoint (canary)")

    def add_tuning_step(self, step: TuningStep) -> Any:
        """Vertex AI hyperparameter tuning: a study spec from the space, GCPC's job, then its trials.

        Raises:
            ValueError: Without Google Cloud Pipeline Components (the ``[gcp]`` extra).
        """
        from kfp import dsl

        from kfp_mlops.components.training.component import collect_vertex_tuning, prepare_vertex_tuning

        try:
            from google_cloud_pipeline_components.v1.hyperparameter_tuning_job import (
                HyperparameterTuningJobRunOp,
            )
        except ImportError:
            raise ValueError("tuning on Vertex AI needs google-cloud-pipeline-components: pip install "
                             "'kfp-mlops[gcp]'") from None
        spec = prepare_vertex_tuning(
            train=step.train, eval=step.eval, schema=step.schema, label=step.label, trial_image=trial_image(),
            trainer=step.trainer, space=step.space, metric=step.metric, estimator=step.estimator, seed=step.seed,
        ).set_display_name("Prepare Vertex AI tuning study")
        job = HyperparameterTuningJobRunOp(
            display_name=f"tune-{step.trainer}-{dsl.PIPELINE_JOB_ID_PLACEHOLDER}",
            base_output_directory=f"{dsl.PIPELINE_ROOT_PLACEHOLDER}/tuning",
            worker_pool_specs=spec.outputs["worker_pool_specs"],
            study_spec_metrics=spec.outputs["study_spec_metrics"],
            study_spec_parameters=spec.outputs["study_spec_parameters"],
            max_trial_count=step.max_trials, parallel_trial_count=step.parallel_trials,
            study_spec_measurement_selection_type="LAST_MEASUREMENT", location=step.location, project=step.project,
        ).set_display_name("Vertex AI hyperparameter tuning job")
        return collect_vertex_tuning(
            gcp_resources=job.outputs["gcp_resources"], train=step.train, schema=step.schema, label=step.label,
            metric=spec.outputs["metric"], trainer=step.trainer, space=step.space, estimator=step.estimator,
            seed=step.seed, parallel_trials=step.parallel_trials,
        ).set_display_name("Collect tuning trials")

    def missing_submit_options(self, values: dict[str, Any]) -> list[str]:
        """Vertex also needs ``--pipeline-root`` (a gs:// folder)."""
        missing = super().missing_submit_options(values)
        return missing + ([] if values.get("pipeline_root") else ["--pipeline-root"])

    def submit(self, package: Any, **options: Any) -> Any:
        """Submits through ``aiplatform.PipelineJob`` (a run, or a schedule)."""
        from kfp_mlops.pipelines.submission.vertex import submit_vertex

        self.require(options)
        return submit_vertex(package, **options)
