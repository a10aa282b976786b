"""KFP components for training: scikit-learn and Keras trainers, and hyperparameter tuning.

Thin wrappers: each imports the library inside its body, maps artifacts to
paths, calls one library function and writes the outputs.
"""
from typing import Any, NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from kfp_mlops.components.images import component

# The `-> NamedTuple("Name", field=type, ...)` return annotations below are how KFP declares several outputs;
# mypy does not accept a call as a type, hence the `type: ignore[valid-type]` on those lines.


@component("core")
def train_sklearn(
    train: Input[Dataset],
    schema: Input[Artifact],
    model: Output[Model],
    label: str,
    estimator: str = "hist_gradient_boosting",
    task: str = "auto",
    hyperparameters: dict = {},
    seed: int = 42,
    eval: Input[Dataset] = None,  # noqa: A002 - the split's name in the user's words
    tuning: dict = {},
):
    """Trains a scikit-learn model whose preprocessing comes from the schema.

    Args:
        train: Training rows, CSV with a header.
        schema: TFX ``schema.pbtxt``: BYTES features and categorical INT
            features are one-hot/ordinal encoded, the rest are numbers.
        model: Output directory: ``model.skops`` (a pipeline that scores raw
            rows), ``model.onnx`` when its export predicts the same on the eval
            rows, ``onnx_check.json``, ``feature_contract.json`` and
            ``model_manifest.json`` (the files' sha256, signed with
            ``$KFP_MLOPS_SIGNING_KEY``). Metadata: framework, estimator, task,
            label, classes, rows, train_score (on at most 10,000 sampled rows),
            the ONNX check (``onnx_passed``, ``onnx_reason``...).
        label: The label column.
        estimator: ``linear`` (LogisticRegression / Ridge), ``random_forest``
            or ``hist_gradient_boosting``.
        task: ``auto``, ``classification`` or ``regression``.
        hyperparameters: Estimator keyword arguments, e.g. ``{"max_depth": 3}``
            (recorded in the model's metadata).
        seed: Random seed.
        eval: Evaluation rows, CSV: the ONNX export is checked on them
            (optional: without them, on a seeded sample of the training rows).
        tuning: The search that chose the hyperparameters (``tune_hyperparameters``'s
            ``summary``), recorded in the model's metadata; empty when not tuned.
    """
    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    result = train_sklearn_model(
        train.path, schema.path, model.path, label, estimator=estimator, task=task,
        hyperparameters=hyperparameters, seed=seed, eval_path=eval.path if eval is not None else None,
    )
    model.metadata.update(result.metadata)
    if tuning:
        model.metadata["tuning"] = tuning


@component("tf")
def train_keras(
    train: Input[Dataset],
    eval: Input[Dataset],  # noqa: A002 - the split's name in the user's words
    schema: Input[Artifact],
    model: Output[Model],
    tensorboard: Output[Artifact],
    label: str,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    hidden_units: str = "64,32",
    seed: int = 42,
    task: str = "auto",
    hyperparameters: dict = {},
    tuning: dict = {},
):
    """Trains a Keras model that serves raw rows, on the GPUs it finds or the CPU.

    Preprocessing (Normalization, StringLookup) is inside the model; training
    reads a cached, prefetched tf.data pipeline, stops early on validation
    loss, and uses MirroredStrategy over several GPUs and mixed precision on GPU.

    Args:
        train: Training rows, CSV with a header.
        eval: Evaluation rows: validation loss for early stopping.
        schema: TFX ``schema.pbtxt`` (feature types, string domains).
        model: Output directory: ``model.keras``, ``saved_model/`` (TF
            Serving / Vertex), ``feature_contract.json`` and ``model_manifest.json``. Metadata: framework,
            task, label, classes, devices, strategy, mixed_precision, epochs_run,
            rows_per_second.
        tensorboard: TensorBoard log directory.
        label: The label column.
        epochs: Most epochs (early stopping may stop sooner).
        batch_size: Rows per step per replica.
        learning_rate: Adam learning rate.
        hidden_units: Dense layer widths, e.g. ``"64,32"``.
        seed: Random seed.
        task: ``auto``, ``classification`` or ``regression``.
        hyperparameters: Overrides of ``epochs``, ``batch_size``, ``learning_rate`` and
            ``hidden_units`` (a tuning search's best values).
        tuning: The search that chose them (``tune_hyperparameters``'s ``summary``),
            recorded in the model's metadata; empty when not tuned.
    """
    from kfp_mlops.components.training.keras_trainer import train_keras_model

    chosen: dict[str, Any] = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
              "hidden_units": hidden_units} | dict(hyperparameters)
    chosen["hidden_units"] = str(chosen["hidden_units"])
    for name in ("epochs", "batch_size"):
        chosen[name] = int(chosen[name])
    result = train_keras_model(
        train.path, eval.path, schema.path, model.path, tensorboard.path, label, seed=seed, task=task, **chosen,
    )
    model.metadata.update(result.metadata)
    if tuning:
        model.metadata["tuning"] = tuning
    tensorboard.metadata["format"] = "tensorboard"


@component("tf")
def tune_hyperparameters(
    train: Input[Dataset],
    eval: Input[Dataset],  # noqa: A002 - the split's name in the user's words
    schema: Input[Artifact],
    report: Output[Markdown],
    metrics: Output[Metrics],
    trials: Output[Artifact],
    label: str,
    trainer: str = "sklearn",
    space: dict = {},
    max_trials: int = 20,
    parallel_trials: int = 2,
    metric: str = "auto",
    estimator: str = "hist_gradient_boosting",
    seed: int = 42,
    timeout_seconds: float = 0.0,
) -> NamedTuple("TuningOutputs", estimator=str, hyperparameters=dict, summary=dict):  # type: ignore[valid-type]
    """Searches hyperparameters with Optuna (TPE, seeded; median pruning; parallel sklearn trials).

    Trial 0 is the trainer's defaults; each trial fits on ``train`` and is scored on ``eval``.

    Args:
        train: Training rows, CSV.
        eval: Rows every trial is scored on, CSV.
        schema: TFX ``schema.pbtxt``.
        report: Markdown: the best trial, then every trial's state, score and values.
        metrics: ``best_<metric>``, ``default_<metric>``, trial counts and ``trial_NNN_<metric>``.
        trials: JSON: every trial (number, state, score, values, seconds).
        label: The label column.
        trainer: ``sklearn`` or ``keras``.
        space: Hyperparameter -> list of choices or ``{"min", "max"[, "log", "type": "int"]}``;
            empty: the trainer's (or estimator's) default space. ``estimator`` searches estimators.
        max_trials: Most trials (1 to 200).
        parallel_trials: Trials at once (sklearn; Keras trials run one at a time).
        metric: ``auto`` (log_loss or rmse), or accuracy, balanced_accuracy, f1_macro, r2, mae.
        estimator: The sklearn estimator when the space does not search one.
        seed: Random seed.
        timeout_seconds: Start no trial after this long (0: no limit).

    Returns:
        ``estimator`` and ``hyperparameters`` of the best trial, and a ``summary`` (metric,
        best and default scores, trial counts) for the model's metadata.
    """
    from collections import namedtuple

    from kfp_mlops.components.training.search import tune, write_outputs

    result = tune(train.path, eval.path, schema.path, label, trainer=trainer, space=space, max_trials=max_trials,
                  parallel_trials=parallel_trials, metric=metric, estimator=estimator, seed=seed,
                  timeout_seconds=timeout_seconds)
    for name, value in write_outputs(result, report.path, metrics.path, trials.path).items():
        metrics.log_metric(name, value)
    print(f"[tuning] best trial {result.best_trial}: {result.metric}={result.best_score:.4f} "
          f"(defaults: {result.default_score}) {result.hyperparameters}", flush=True)
    TuningOutputs = namedtuple("TuningOutputs", ["estimator", "hyperparameters", "summary"])
    return TuningOutputs(result.estimator, result.hyperparameters, result.summary())


@component("core")
def prepare_vertex_tuning(
    train: Input[Dataset],
    eval: Input[Dataset],  # noqa: A002 - the split's name in the user's words
    schema: Input[Artifact],
    label: str,
    trial_image: str,
    trainer: str = "sklearn",
    space: dict = {},
    metric: str = "auto",
    estimator: str = "hist_gradient_boosting",
    seed: int = 42,
    machine_type: str = "n1-standard-4",
) -> NamedTuple("VertexTuningSpec", worker_pool_specs=list, study_spec_metrics=list, study_spec_parameters=list,  # type: ignore[valid-type]
                metric=str):
    """Builds a Vertex AI hyperparameter tuning job's trial spec and study from the search space.

    Each trial runs ``python3 -m kfp_mlops.components.training.trial_main`` in ``trial_image``,
    reading the splits through Cloud Storage FUSE (``/gcs/...``) and reporting ``metric`` the
    way ``cloudml-hypertune`` does.

    Args:
        train: Training rows (a ``gs://`` artifact on Vertex AI).
        eval: Rows each trial is scored on.
        schema: TFX ``schema.pbtxt``.
        label: The label column.
        trial_image: The image trials run in (ours, with both trainers).
        trainer: ``sklearn`` or ``keras``.
        space: The search space (as for ``tune_hyperparameters``).
        metric: ``auto`` (log_loss or rmse) or a metric name.
        estimator: The sklearn estimator when the space does not search one.
        seed: Random seed of every trial.
        machine_type: The trials' Compute Engine machine type.

    Returns:
        ``worker_pool_specs``, ``study_spec_metrics`` and ``study_spec_parameters`` for
        ``HyperparameterTuningJobRunOp``, and the resolved ``metric``.
    """
    from collections import namedtuple

    from kfp_mlops.components.training.search import metric_for
    from kfp_mlops.components.training.search_space import parse_space
    from kfp_mlops.components.training.search_trials import load_trial_data
    from kfp_mlops.components.training.service_tuning import (
        gcs_fuse_path,
        vertex_study_parameters,
        vertex_worker_pool_specs,
    )
    from kfp_mlops.components.training.trial_main import trial_args

    dimensions = parse_space(space, trainer, estimator)
    data = load_trial_data(train.path, eval.path, schema.path, label)
    name, greater = metric_for(metric, data.task)
    args = trial_args(trainer, gcs_fuse_path(train.uri), gcs_fuse_path(eval.uri), gcs_fuse_path(schema.uri), label,
                      name, estimator, space, seed, data.task)
    VertexTuningSpec = namedtuple("VertexTuningSpec", ["worker_pool_specs", "study_spec_metrics",
                                                       "study_spec_parameters", "metric"])
    return VertexTuningSpec(vertex_worker_pool_specs(trial_image, args, machine_type),
                            [{"metric_id": name, "goal": "MAXIMIZE" if greater else "MINIMIZE"}],
                            vertex_study_parameters(dimensions), name)


@component("core")
def collect_vertex_tuning(
    gcp_resources: str,
    train: Input[Dataset],
    schema: Input[Artifact],
    report: Output[Markdown],
    metrics: Output[Metrics],
    trials: Output[Artifact],
    label: str,
    metric: str,
    trainer: str = "sklearn",
    space: dict = {},
    estimator: str = "hist_gradient_boosting",
    seed: int = 42,
    parallel_trials: int = 2,
) -> NamedTuple("TuningOutputs", estimator=str, hyperparameters=dict, summary=dict):  # type: ignore[valid-type]
    """Reads a finished Vertex AI hyperparameter tuning job: the best trial and every trial's score.

    Args:
        gcp_resources: ``HyperparameterTuningJobRunOp``'s output (names the job).
        train: Training rows (for the task, as the trials resolved it).
        schema: TFX ``schema.pbtxt``.
        report: Markdown: the best trial, then every trial.
        metrics: ``best_<metric>``, trial counts and ``trial_NNN_<metric>``.
        trials: JSON: every trial.
        label: The label column.
        metric: The metric the trials reported (``prepare_vertex_tuning``'s).
        trainer: ``sklearn`` or ``keras``.
        space: The search space the job searched.
        estimator: The sklearn estimator when the space does not search one.
        seed: Recorded in the summary.
        parallel_trials: Recorded in the report.

    Returns:
        ``estimator``, ``hyperparameters`` and ``summary``, as ``tune_hyperparameters`` returns them.
    """
    from collections import namedtuple

    from kfp_mlops.components.training.search import metric_for, write_outputs
    from kfp_mlops.components.training.search_space import parse_space
    from kfp_mlops.components.training.search_trials import load_trial_data
    from kfp_mlops.components.training.service_tuning import result_from_trials, vertex_trials

    data = load_trial_data(train.path, train.path, schema.path, label)
    name, greater = metric_for(metric, data.task)
    result = result_from_trials(vertex_trials(gcp_resources), parse_space(space, trainer, estimator), trainer,
                                estimator, data.task, name, greater, seed, parallel_trials)
    for key, value in write_outputs(result, report.path, metrics.path, trials.path).items():
        metrics.log_metric(key, value)
    TuningOutputs = namedtuple("TuningOutputs", ["estimator", "hyperparameters", "summary"])
    return TuningOutputs(result.estimator, result.hyperparameters, result.summary())


@component("core")
def tune_katib(
    train: Input[Dataset],
    eval: Input[Dataset],  # noqa: A002 - the split's name in the user's words
    schema: Input[Artifact],
    experiment: Output[Artifact],
    report: Output[Markdown],
    metrics: Output[Metrics],
    trials: Output[Artifact],
    label: str,
    trial_image: str,
    namespace: str,
    trainer: str = "sklearn",
    space: dict = {},
    max_trials: int = 20,
    parallel_trials: int = 2,
    metric: str = "auto",
    estimator: str = "hist_gradient_boosting",
    seed: int = 42,
    algorithm: str = "tpe",
    timeout_seconds: float = 86400.0,
) -> NamedTuple("TuningOutputs", estimator=str, hyperparameters=dict, summary=dict):  # type: ignore[valid-type]
    """Runs the search as a Katib Experiment (TPE, median-stop early stopping) and reads its trials.

    Args:
        train: Training rows (trials read the artifact's URI).
        eval: Rows each trial is scored on.
        schema: TFX ``schema.pbtxt``.
        experiment: The Experiment manifest (YAML) that was created.
        report: Markdown: the best trial, then every trial.
        metrics: ``best_<metric>``, trial counts and ``trial_NNN_<metric>``.
        trials: JSON: every trial.
        label: The label column.
        trial_image: The image trials run in.
        namespace: The Kubeflow namespace for the Experiment.
        trainer: ``sklearn`` or ``keras``.
        space: The search space.
        max_trials: Most trials.
        parallel_trials: Trials at once.
        metric: ``auto`` (log_loss or rmse) or a metric name.
        estimator: The sklearn estimator when the space does not search one.
        seed: Random seed of every trial.
        algorithm: ``tpe``, ``random``, ``bayesian`` or ``grid``.
        timeout_seconds: Give up waiting after this long.

    Returns:
        ``estimator``, ``hyperparameters`` and ``summary``, as ``tune_hyperparameters`` returns them.
    """
    import uuid
    from collections import namedtuple

    import yaml

    from kfp_mlops.components.core.kubernetes import kubernetes_api_client
    from kfp_mlops.components.training.katib import experiment_manifest, experiment_name, run_experiment
    from kfp_mlops.components.training.search import metric_for, write_outputs
    from kfp_mlops.components.training.search_space import parse_space
    from kfp_mlops.components.training.search_trials import load_trial_data
    from kfp_mlops.components.training.service_tuning import result_from_trials
    from kfp_mlops.components.training.trial_main import trial_args

    dimensions = parse_space(space, trainer, estimator)
    data = load_trial_data(train.path, eval.path, schema.path, label)
    name, greater = metric_for(metric, data.task)
    args = trial_args(trainer, train.uri, eval.uri, schema.uri, label, name, estimator, space, seed, data.task)
    manifest = experiment_manifest(experiment_name(f"tune-{label}-{uuid.uuid4().hex[:8]}"), namespace, trial_image,
                                   args, dimensions, name, greater, max_trials, parallel_trials, algorithm)
    with open(experiment.path, "w") as handle:
        yaml.safe_dump(manifest, handle, sort_keys=False)

    found = run_experiment(manifest, kubernetes_api_client(), timeout_seconds=timeout_seconds)
    result = result_from_trials(found, dimensions, trainer, estimator, data.task, name, greater, seed, parallel_trials)
    for key, value in write_outputs(result, report.path, metrics.path, trials.path).items():
        metrics.log_metric(key, value)
    TuningOutputs = namedtuple("TuningOutputs", ["estimator", "hyperparameters", "summary"])
    return TuningOutputs(result.estimator, result.hyperparameters, result.summary())
