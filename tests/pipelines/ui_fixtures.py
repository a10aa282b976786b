"""Test helper: two real local runs that log Metrics and ClassificationMetrics, and a registry with two versions."""

from pathlib import Path

from kfp import dsl
from kfp.dsl import ClassificationMetrics, Markdown, Metrics, Output


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def fake_evaluate(accuracy: float, metrics: Output[Metrics], classification_metrics: Output[ClassificationMetrics],
                  report: Output[Markdown]):
    """Logs fixed metrics, a confusion matrix, a ROC curve and a Markdown report with a script in it."""
    import json

    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("log_loss", round(1 - accuracy, 4))
    classification_metrics.log_confusion_matrix(["cat", "dog"], [[41, 3], [2, 54]])
    classification_metrics.log_roc_curve([0.0, 0.1, 0.3, 1.0], [0.0, 0.7, 0.9, 1.0], [1.0, 0.8, 0.5, 0.0])
    for artifact in (metrics, classification_metrics):
        with open(artifact.path, "w") as handle:
            json.dump(artifact.metadata, handle)
    with open(report.path, "w") as handle:
        handle.write(f"# Evaluation\n\n| metric | value |\n|---|---|\n| accuracy | {accuracy} |\n\n"
                     "<script>document.title='pwned'</script>\n")


@dsl.pipeline(name="ui-probe")
def ui_probe(accuracy: float = 0.95):
    fake_evaluate(accuracy=accuracy).set_display_name("Evaluate model")


def make_runs_and_registry(root: Path, registry: Path) -> tuple[list, list]:
    """Two runs (accuracy 0.95 and 0.91) and two registered versions whose lineage names them."""
    from kfp_mlops.components.deployment.local import record_deployment
    from kfp_mlops.components.registry import open_registry
    from kfp_mlops.pipelines import local_runner
    from tests.registry.registry_models import make_model

    runs = [local_runner.run_pipeline(ui_probe, {"accuracy": value}, root=root, progress=False,
                                      log_path=root.parent / f"logs/run-{value}.log") for value in (0.95, 0.91)]
    store = open_registry(str(registry))
    versions = []
    for seed, (run, value) in enumerate(zip(runs, (0.95, 0.91)), start=1):
        version = store.register(str(make_model(root.parent / f"model-{seed}", seed)), "pets",
                                 metrics={"accuracy": value, "log_loss": round(1 - value, 4)},
                                 lineage={"pipeline_run_id": run.run_name})
        versions.append(version)
    store.promote("pets", versions[0].version)
    record_deployment(registry, "pets", versions[0].version)
    return runs, versions
