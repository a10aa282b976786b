"""The ``training`` pipeline: validate, train, evaluate, and register only when blessed.

One definition serves every target. :func:`build_training_pipeline` is the
factory (TFX style: flags pick the optional parts); the target-specific
resources and the deploy step belong to the target object
(:mod:`kfp_mlops.pipelines.targets`).

Flow::

    ingest -> statistics -> schema (inferred or imported) -> validate
      -> [passed]  (tune: Optuna | Vertex AI tuning job | Katib) -> train -> evaluate
        -> [blessed] register (challenger) -> infra-validate
          -> [serves] promote (champion) -> deploy (local record | Vertex canary | KServe)
"""

from typing import Callable

from kfp import dsl

PIPELINE_NAME = "training"
TRAINERS = ("sklearn", "keras")
# No absolute threshold by default: the gate's skill check (beat the majority class or the mean, on
# balanced accuracy or rmse) fits every task and dataset; add floors with --threshold METRIC=VALUE.
DEFAULT_THRESHOLDS: dict = {}


def build_training_pipeline(
    target: str = "local",
    trainer: str = "sklearn",
    import_schema: bool = False,
    accelerator: str | None = None,
    accelerator_count: int = 1,
    data_source: str = "file",
    tune: bool = False,
) -> Callable:
    """Builds the training pipeline for one target.

    Args:
        target: ``local``, ``vertex`` or ``kfp``; picks the deploy step and the
            resources.
        trainer: ``sklearn`` or ``keras``.
        import_schema: Take a curated schema.pbtxt (the ``schema_path``
            parameter) instead of inferring one from the training split.
        accelerator: Accelerator for the Keras trainer (e.g. ``NVIDIA_L4``);
            ``None`` trains on CPU.
        accelerator_count: How many accelerators.
        data_source: ``file`` (any path, or a ``bq://`` table read through the client) or
            ``bigquery`` (Vertex AI: the split runs as BigQuery query jobs, see
            :class:`~kfp_mlops.pipelines.targets.base.IngestStep`).
        tune: Search hyperparameters before the final fit (the ``tuning_*`` parameters); the
            target picks the search: Optuna in a task locally, a Vertex AI hyperparameter
            tuning job, or a Katib Experiment on Kubeflow.

    Returns:
        A ``@dsl.pipeline`` function.

    Raises:
        ValueError: For an unknown trainer, an accelerator the target rejects, or a data
            source it does not compile.
    """
    from kfp_mlops.components.data.component import fingerprint_data
    from kfp_mlops.components.evaluation.component import evaluate_model
    from kfp_mlops.components.images import image_name
    from kfp_mlops.components.registry.component import current_champion, promote_model, register_model
    from kfp_mlops.components.serving.component import infra_validate
    from kfp_mlops.components.training.component import train_keras, train_sklearn
    from kfp_mlops.components.validation import component as validation
    from kfp_mlops.pipelines.targets import DeployStep, IngestStep, TuningStep, get_target

    run_target = get_target(target)
    run_target.validate_data_source(data_source)
    if trainer not in TRAINERS:
        raise ValueError(f"unknown trainer {trainer!r}; expected one of: {', '.join(TRAINERS)}")
    if accelerator and trainer != "keras":
        raise ValueError("--accelerator needs --trainer keras: the sklearn trainer runs on CPU")

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description="Validate data, train, evaluate against thresholds and the champion, register and deploy.",
    )
    def training(
        data_path: str = "",
        label: str = "",
        schema_path: str = "",
        registry_uri: str = "",
        model_name: str = "model",
        estimator: str = "hist_gradient_boosting",
        hyperparameters: dict = {},
        epochs: int = 20,
        thresholds: dict = DEFAULT_THRESHOLDS,
        regression_margin: float = 0.01,
        slice_feature: str = "",
        slice_floors: dict = {},
        eval_fraction: float = 0.15,
        test_fraction: float = 0.15,
        seed: int = 42,
        endpoint_name: str = "kfp-mlops",
        project: str = "",
        location: str = "us-central1",
        namespace: str = "kubeflow-user-example-com",
        canary_percent: int = 10,
        serving_image: str = image_name("serve"),
        log_sampling_rate: float = 0.0,
        payload_logger_url: str = "",
        tuning_space: dict = {},
        tuning_trials: int = 20,
        tuning_parallelism: int = 2,
        tuning_metric: str = "auto",
    ):
        # Caching follows the data's content, not its path: the target's ingestion step takes a
        # never-cached fingerprint, so new content at the same path reruns from here.
        ingest = run_target.add_ingest_step(IngestStep(
            source=data_source, data_path=data_path, label=label, eval_fraction=eval_fraction,
            test_fraction=test_fraction, project=project,
        ))
        label_column = ingest.outputs["Output"]
        statistics = validation.generate_statistics(dataset=ingest.outputs["train"]).set_display_name(
            "Generate statistics"
        )
        if import_schema:
            schema_print = fingerprint_data(data_path=schema_path).set_display_name("Fingerprint schema")
            schema_print.set_caching_options(False)
            schema_task = validation.import_schema(
                schema_path=schema_path, schema_fingerprint=schema_print.output
            ).set_display_name("Import schema")
        else:
            schema_task = validation.infer_schema(
                statistics=statistics.outputs["statistics"], label=label_column
            ).set_display_name("Infer schema")
        schema = schema_task.outputs["schema"]
        validate = validation.validate_data(
            statistics=statistics.outputs["statistics"], schema=schema
        ).set_display_name("Validate data")

        with dsl.If(validate.outputs["Output"] == True, name="data-valid"):  # noqa: E712
            tuned: dict = {}
            if tune:
                search = run_target.add_tuning_step(TuningStep(
                    train=ingest.outputs["train"], eval=ingest.outputs["eval"], schema=schema, label=label_column,
                    trainer=trainer, space=tuning_space, max_trials=tuning_trials,
                    parallel_trials=tuning_parallelism, metric=tuning_metric, estimator=estimator, seed=seed,
                    project=project, location=location, namespace=namespace,
                ))
                tuned = {"hyperparameters": search.outputs["hyperparameters"], "tuning": search.outputs["summary"]}
            if trainer == "keras":
                train = train_keras(
                    train=ingest.outputs["train"], eval=ingest.outputs["eval"], schema=schema,
                    label=label_column, epochs=epochs, seed=seed, **tuned,
                ).set_display_name("Train Keras model")
                run_target.apply_accelerator(train, accelerator, accelerator_count)
            else:
                train = train_sklearn(
                    train=ingest.outputs["train"], eval=ingest.outputs["eval"], schema=schema, label=label_column,
                    estimator=search.outputs["estimator"] if tune else estimator,
                    **(tuned or {"hyperparameters": hyperparameters}), seed=seed,
                ).set_display_name("Train scikit-learn model")
            model = train.outputs["model"]
            # The verdict depends on the registry's champion: pin it (never cached), so the
            # evaluation's cache key changes whenever the champion does.
            champion = current_champion(registry_uri=registry_uri, model_name=model_name)
            champion.set_display_name("Pin current champion").set_caching_options(False)
            evaluate = evaluate_model(
                model=model, test=ingest.outputs["test"], train=ingest.outputs["train"], label=label_column,
                thresholds=thresholds,
                registry_uri=registry_uri, model_name=model_name, regression_margin=regression_margin,
                slice_feature=slice_feature, slice_floors=slice_floors, champion=champion.output,
            ).set_display_name("Evaluate model")

            with dsl.If(evaluate.outputs["Output"] == True, name="model-blessed"):  # noqa: E712
                register = register_model(
                    model=model, metrics=evaluate.outputs["metrics"], registry_uri=registry_uri,
                    model_name=model_name, dataset=ingest.outputs["train"], schema=schema,
                    statistics=statistics.outputs["statistics"], pipeline_run_id=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
                ).set_display_name("Register model")
                register.set_caching_options(False)
                infra = infra_validate(
                    model=model, examples=ingest.outputs["eval"], label=label_column
                ).set_display_name("Infra-validate model server")
                with dsl.If(infra.outputs["Output"] == True, name="model-serves"):  # noqa: E712
                    promote = promote_model(
                        registry_uri=registry_uri, model_name=model_name, version=register.outputs["Output"],
                        expected_champion=champion.output,  # compare-and-swap with the champion evaluated against
                        gate_report=evaluate.outputs["report"],  # the why of the audit trail
                    ).set_display_name("Promote to champion")
                    promote.set_caching_options(False)
                    deploy = run_target.add_deploy_step(DeployStep(
                        promote=promote, model=model, examples=ingest.outputs["eval"], label=label_column,
                        registry_uri=registry_uri, model_name=model_name, endpoint_name=endpoint_name,
                        project=project, location=location, namespace=namespace, canary_percent=canary_percent,
                        serving_image=serving_image, log_sampling_rate=log_sampling_rate,
                        payload_logger_url=payload_logger_url,
                    ))
                    deploy.after(promote)
                    deploy.set_caching_options(False)

    return training


def run_training(
    data_path: str = "",
    label: str = "",
    schema_path: str = "",
    model_name: str = "",
    registry: str = "",
    trainer: str = "sklearn",
    enable_caching: bool = True,
    log_path: str | None = None,
    tune: bool = False,
    **parameters,
):
    """Runs the training pipeline locally (kfp.local) and returns the run.

    Checks the data file and the label before any task starts, so a bad input
    fails in a second with a message that names it.

    Args:
        data_path: CSV with a header row, ``bq://project.dataset.table`` or a BigQuery
            query (read through the client); empty means the bundled palmerpenguins data.
        label: Label column; empty means ``species`` for the bundled data.
        schema_path: A curated TFX schema.pbtxt; empty infers the schema.
        model_name: Registry name; empty derives it from the data file's name.
        registry: Local registry folder; empty means ``<KFP_MLOPS_HOME>/registry``.
        trainer: ``sklearn`` or ``keras``.
        enable_caching: Use kfp.local's cache.
        log_path: Where task logs go; ``None`` prints them.
        tune: Search hyperparameters (Optuna) before the final fit; ``tuning_space``,
            ``tuning_trials``, ``tuning_parallelism`` and ``tuning_metric`` shape the search.
        **parameters: Other pipeline parameters (``thresholds``, ``estimator``, ...).

    Returns:
        A :class:`kfp_mlops.pipelines.local_runner.LocalRun`, with ``model_name``,
        ``registry`` and ``outcome`` (a :class:`~kfp_mlops.pipelines.outcomes.TrainingOutcome`) added.

    Raises:
        InputError: For a bad data file, label or schema path.
    """
    from pathlib import Path

    from kfp_mlops.components.core.bigquery import is_bigquery
    from kfp_mlops.components.core.data_contract import model_name_from, preflight
    from kfp_mlops.components.core.errors import InputError
    from kfp_mlops.components.core.features import resolve_task
    from kfp_mlops.components.core.sources import is_remote
    from kfp_mlops.components.core.tables import BUNDLED_LABEL, bundled_dataset_path
    from kfp_mlops.components.evaluation.gate import check_threshold_names
    from kfp_mlops.components.registry import open_registry
    from kfp_mlops.components.registry.local import check_name
    from kfp_mlops.pipelines import local_runner
    from kfp_mlops.pipelines.outcomes import TrainingOutcome

    if schema_path and not Path(schema_path).is_file():
        raise InputError(f"schema file not found: {schema_path}")
    # Pre-flight: the header and a bounded sample only (the ingest task reads the whole file).
    source = data_path or bundled_dataset_path()
    label = label or (BUNDLED_LABEL if not data_path else "")
    if not label:
        raise InputError("no label column given: pass the name of the column to predict")
    sample = preflight(source, label)
    thresholds = parameters.get("thresholds") or {}
    if thresholds and sample.labels is not None and len(sample.labels):  # the evaluation checks them again
        check_threshold_names(thresholds, resolve_task("auto", sample.labels), "--threshold")
    model_name = check_name(model_name or model_name_from(source))
    registry_path = Path(registry).absolute() if registry else local_runner.default_registry()
    open_registry(str(registry_path)).list()  # a damaged index: one line naming it, before any task
    print(f"Running pipeline 'training' locally on {source} (columns: {len(sample.columns)}, label {label!r}, "
          f"model {model_name!r})", flush=True)
    print(f"  pipeline root: {local_runner.pipeline_root()}", flush=True)
    if tune:
        from kfp_mlops.components.training.search_space import parse_space

        parse_space(parameters.get("tuning_space") or {}, trainer,
                    parameters.get("estimator", "hist_gradient_boosting"))
    pipeline = build_training_pipeline(target="local", trainer=trainer, import_schema=bool(schema_path), tune=tune)
    arguments = {
        # Empty means the bundled data, resolved inside the task: its path lies in site-packages,
        # and kfp.local rewrites "python3" (as in lib/python3.11) inside task arguments.
        "data_path": (data_path if is_remote(data_path) or is_bigquery(data_path)
                      else str(Path(data_path).absolute())) if data_path else "",
        "label": label,
        "schema_path": str(Path(schema_path).absolute()) if schema_path else "",
        "registry_uri": str(registry_path),
        "model_name": model_name,
        **parameters,
    }
    run = local_runner.run_pipeline(pipeline, arguments, enable_caching=enable_caching, log_path=log_path)
    run.model_name, run.registry = model_name, registry_path
    run.outcome = TrainingOutcome.from_run(run, model_name, registry_path)
    return run
