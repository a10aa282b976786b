"""The interface every target implements."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

KFP_GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True)
class SubmitOption:
    """One command-line option of ``kfp-mlops submit`` that a target needs.

    Attributes:
        flag: The option, e.g. ``--project``.
        help: Its help text.
        env: An environment variable that gives the default.
        required: Whether a submission to the target needs it.
    """

    flag: str
    help: str
    env: str | None = None
    required: bool = False

    @property
    def dest(self) -> str:
        """The keyword argument name (``--api-endpoint`` -> ``api_endpoint``)."""
        return self.flag.lstrip("-").replace("-", "_")

    def default(self) -> str | None:
        """The option's default value, from its environment variable."""
        return os.environ.get(self.env) if self.env else None


@dataclass(frozen=True)
class DeployStep:
    """What a deploy step is wired to, in the ``training`` pipeline.

    Attributes:
        promote: The promote task; deployment runs after it.
        model: The trained model artifact.
        examples: Eval rows, for a health check after deploying.
        label: The label column (a pipeline channel).
        registry_uri: The model registry.
        model_name: The registry name.
        endpoint_name: The endpoint or InferenceService name.
        project: Cloud project (Vertex).
        location: Cloud region (Vertex).
        namespace: Kubernetes namespace (KServe).
        canary_percent: Traffic share of a new model before promotion.
        serving_image: The serving container image.
        log_sampling_rate: Vertex AI: share of requests logged to BigQuery (0: off).
        payload_logger_url: KServe: where the payload logger sends CloudEvents (empty: off).
    """

    promote: Any
    model: Any
    examples: Any
    label: Any
    registry_uri: Any
    model_name: Any
    endpoint_name: Any
    project: Any
    location: Any
    namespace: Any
    canary_percent: Any
    serving_image: Any
    log_sampling_rate: Any = 0.0
    payload_logger_url: Any = ""


DATA_SOURCES = ("file", "bigquery")


@dataclass(frozen=True)
class IngestStep:
    """What the ingestion step of the ``training`` pipeline is wired to.

    Attributes:
        source: ``file`` (a CSV, Parquet or ``gs://`` path, or a ``bq://`` table read through
            the client) or ``bigquery`` (the split runs in BigQuery; Vertex AI only).
        data_path: The data source (a pipeline channel).
        label: The label column.
        eval_fraction: Share of rows for eval.
        test_fraction: Share of rows for test.
        project: Cloud project that runs the BigQuery jobs (default: the table's).
    """

    source: str
    data_path: Any
    label: Any
    eval_fraction: Any
    test_fraction: Any
    project: Any = ""


def check_data_source(source: str, target: str, allowed: tuple[str, ...] = ("file",)) -> str:
    """Returns ``source`` when the target can compile it.

    Raises:
        ValueError: For an unknown source, or one the target does not offer.
    """
    if source not in DATA_SOURCES:
        raise ValueError(f"unknown data source {source!r}; expected one of: {', '.join(DATA_SOURCES)}")
    if source not in allowed:
        raise ValueError(f"data source {source!r} is not available for target {target!r}; it compiles for "
                         "--target vertex (a bq:// data_path also works with the file source, read through the "
                         "BigQuery client)")
    return source


@dataclass(frozen=True)
class TuningStep:
    """What a tuning step is wired to, in the ``training`` and ``tuning`` pipelines.

    Attributes:
        train: The training split (each trial fits on it).
        eval: The eval split (each trial is scored on it).
        schema: The TFX schema.
        label: The label column (a pipeline channel).
        trainer: ``sklearn`` or ``keras`` (known when the pipeline is built).
        space: The search space (a pipeline parameter).
        max_trials: Most trials.
        parallel_trials: Trials at once.
        metric: The metric that picks the best trial (``auto``: log_loss or rmse).
        estimator: The sklearn estimator when the space does not search one.
        seed: Random seed.
        project: Cloud project (Vertex).
        location: Cloud region (Vertex).
        namespace: Kubernetes namespace (Katib).
    """

    train: Any
    eval: Any
    schema: Any
    label: Any
    trainer: str
    space: Any
    max_trials: Any
    parallel_trials: Any
    metric: Any
    estimator: Any
    seed: Any
    project: Any = ""
    location: Any = "us-central1"
    namespace: Any = "kubeflow-user-example-com"


def trial_image() -> str:
    """The image tuning trials run in: ours with TensorFlow (both trainers)."""
    from kfp_mlops.components.images import image_name

    return image_name("tf")


def check_count(count: Any, allowed: tuple[int, ...], what: str) -> int:
    """Returns ``count`` when it is one of ``allowed``.

    Raises:
        ValueError: Listing the allowed counts.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count not in allowed:
        raise ValueError(
            f"invalid accelerator count {count!r} for {what}; allowed: {', '.join(map(str, allowed))}"
        )
    return count


def use_gpu_image(task: Any) -> None:
    """Moves a task that runs in our ``tf`` image to the ``gpu`` image family.

    Other images are left alone. The compiler retags the image afterwards.
    """
    from kfp_mlops.components.images import family_of, image_name

    spec = getattr(task, "container_spec", None)
    if spec is not None and family_of(spec.image or "") == "tf":
        task.set_container_image(image_name("gpu"))


class Target:
    """Where a pipeline runs: resources, deploy step, submission and CLI options of one target.

    Subclasses set :attr:`name` and override what differs. The defaults suit a target
    that ignores resources (kfp.local).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    # Whether pipelines are compiled to a file and submitted (``vertex``, ``kfp``) or run in-process.
    compiled: ClassVar[bool] = True
    submit_options: ClassVar[tuple[SubmitOption, ...]] = ()
    # Where the target is listed (CLI choices, help): lower first.
    order: ClassVar[int] = 100

    def validate_accelerator(self, accelerator: str | None, count: int = 1) -> None:
        """Checks an accelerator name and count without touching a task.

        Raises:
            ValueError: For an accelerator or count the target does not offer.
        """

    def apply_accelerator(self, task: Any, accelerator: str | None, count: int = 1) -> Any:
        """Requests accelerators for one task (the Keras trainer's); returns the task."""
        self.validate_accelerator(accelerator, count)
        if accelerator:
            use_gpu_image(task)
            self._request_accelerator(task, accelerator, count)
        return task

    def _request_accelerator(self, task: Any, accelerator: str, count: int) -> None:
        """Sets the accelerator on a task; the name and count are already checked."""

    def apply_machine(self, task: Any, cpu: str | None = None, memory: str | None = None) -> Any:
        """Sets cpu and memory limits for one task; returns the task.

        Raises:
            ValueError: For a malformed cpu or memory string.
        """
        try:
            if cpu:
                task.set_cpu_limit(cpu)
            if memory:
                task.set_memory_limit(memory)
        except ValueError as error:
            raise ValueError(f"invalid cpu {cpu!r} or memory {memory!r} for target {self.name!r}: {error}") from None
        return task

    # The data sources whose ingestion the target compiles (see :class:`IngestStep`).
    data_sources: ClassVar[tuple[str, ...]] = ("file",)

    def validate_data_source(self, source: str) -> None:
        """Checks a data source before the pipeline is defined.

        Raises:
            ValueError: For a source the target does not compile.
        """
        check_data_source(source, self.name, self.data_sources)

    def add_ingest_step(self, step: IngestStep) -> Any:
        """Adds the ingestion step (fingerprint, then read and split); returns the task with the splits.

        The task has the outputs ``train``, ``eval``, ``test`` and ``Output`` (the label).
        The fingerprint step is never cached, and feeds the ingestion's cache key, so new
        content at the same path reruns from here.
        """
        from kfp_mlops.components.data.component import fingerprint_data, ingest_data

        self.validate_data_source(step.source)
        fingerprint = fingerprint_data(data_path=step.data_path).set_display_name("Fingerprint data")
        fingerprint.set_caching_options(False)
        return ingest_data(
            data_path=step.data_path, label=step.label, eval_fraction=step.eval_fraction,
            test_fraction=step.test_fraction, data_fingerprint=fingerprint.output,
        ).set_display_name("Ingest data")

    def add_deploy_step(self, step: DeployStep) -> Any:
        """Adds the target's deploy step to the pipeline being defined; returns the task."""
        raise NotImplementedError

    def add_tuning_step(self, step: TuningStep) -> Any:
        """Adds the target's hyperparameter search; returns a task with the outputs ``estimator``,
        ``hyperparameters`` and ``summary`` (and ``report``, ``metrics``, ``trials`` artifacts).

        The default runs the Optuna search in one task (kfp.local); Vertex AI and Kubeflow
        override it with their tuning services.
        """
        from kfp_mlops.components.training.component import tune_hyperparameters

        return tune_hyperparameters(
            train=step.train, eval=step.eval, schema=step.schema, label=step.label, trainer=step.trainer,
            space=step.space, max_trials=step.max_trials, parallel_trials=step.parallel_trials, metric=step.metric,
            estimator=step.estimator, seed=step.seed,
        ).set_display_name("Tune hyperparameters (Optuna)")

    def missing_submit_options(self, values: dict[str, Any]) -> list[str]:
        """The flags of required submit options that ``values`` (by dest) leaves empty."""
        return [option.flag for option in self.submit_options if option.required and not values.get(option.dest)]

    def submit(self, package: Any, **options: Any) -> Any:
        """Submits a compiled pipeline file; returns a ``SubmissionResult``.

        Raises:
            ValueError: When a required option is missing.
        """
        raise ValueError(f"target {self.name!r} runs pipelines locally: use `kfp-mlops run`")

    def require(self, options: dict[str, Any], as_flags: bool = False) -> None:
        """Raises a one-line ``ValueError`` naming every required submit option that is missing.

        Args:
            options: Option values by keyword name.
            as_flags: Name them as command-line flags (``--project``) instead of keywords (``project``).
        """
        missing = self.missing_submit_options(options)
        if missing and as_flags:
            raise ValueError(f"--target {self.name} needs {', '.join(missing)}")
        if missing:
            raise ValueError(f"target {self.name} needs: {', '.join(m.lstrip('-').replace('-', '_') for m in missing)}")
