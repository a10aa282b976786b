"""KFP component for model evaluation: metrics, slices and the blessing gate."""
from kfp.dsl import ClassificationMetrics, Dataset, Input, Markdown, Metrics, Model, Output

from kfp_mlops.components.images import component


@component("core")
def evaluate_model(
    model: Input[Model],
    test: Input[Dataset],
    label: str,
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    report: Output[Markdown],
    feature_attributions: Output[Metrics],
    thresholds: dict = {},
    registry_uri: str = "",
    model_name: str = "",
    regression_margin: float = 0.01,
    slice_feature: str = "",
    slice_floors: dict = {},
    champion: str = "",
    train: Input[Dataset] = None,
    skill_margin: float = 0.05,
) -> bool:
    """Scores a model on the test split and decides whether it is blessed.

    Blessed requires every check: (s) skill over a no-skill baseline (the
    training majority class or mean) on the same rows, by ``skill_margin``, on
    balanced accuracy (classification) or rmse (regression); (a) absolute
    ``thresholds``; (b) no regression beyond ``regression_margin`` against the
    registry's champion, by a seeded paired bootstrap on the same test rows,
    when one exists; (c) ``slice_floors`` on every value of ``slice_feature``.
    The report says why, and ``report.metadata["verdict"]`` holds it in one line.

    Args:
        model: The model directory to evaluate.
        test: Labelled test rows (CSV).
        label: The label column.
        metrics: Scalar metrics (also written as JSON to ``metrics.path``):
            accuracy, balanced_accuracy, f1_macro, precision_macro,
            recall_macro, log_loss, plus roc_auc and average_precision for
            binary tasks; rmse, mae, r2 for regression.
        classification_metrics: Confusion matrix, and the ROC curve for binary
            tasks (at most 200 points); JSON at ``.path`` too.
        report: Markdown: the verdict, the reason for each check, the metrics
            next to the champion's, the confusion matrix and the slices. Metadata
            ``verdict``: one line, ``blessed`` or why not.
        thresholds: Metric -> bound, e.g. ``{"accuracy": 0.9}``. A floor (>=),
            except for the lower-is-better metrics rmse, mae and log_loss, where
            it is a ceiling (<=). Checked against the task's metrics.
        registry_uri: The registry holding the champion (local folder or
            ``vertex://PROJECT/LOCATION``); empty skips the comparison.
        model_name: The model's registry name.
        regression_margin: Largest allowed absolute drop of each thresholded
            metric (or of balanced_accuracy / rmse without thresholds) against the
            champion, at the worse end of the bootstrap interval.
        slice_feature: Column to slice the test rows by; empty for none.
        slice_floors: Metric -> floor (ceiling for lower-is-better metrics) every
            slice must meet.
        champion: The champion to compare with, pinned as ``"<version>@<sha256>"``
            by ``current_champion``; empty means the registry's champion at run
            time. Pinning makes the step cacheable: a cached verdict is reused only
            against the same champion.
        train: The training split, for the no-skill baseline; None uses the test rows.
        skill_margin: How much the model must beat the no-skill baseline by: balanced
            accuracy points, or a share of the baseline's rmse.
        feature_attributions: Global feature attributions: permutation importance of each raw
            input feature on the test rows (drop in accuracy or r2 when it is shuffled); also
            in the report.

    Returns:
        True when the model is blessed.
    """
    from kfp_mlops.components.evaluation.evaluate import evaluate_model_dir

    result = evaluate_model_dir(
        model.path, test.path, label, report.path, metrics.path, classification_metrics.path,
        thresholds=thresholds, registry_uri=registry_uri, model_name=model_name,
        regression_margin=regression_margin, slice_feature=slice_feature, slice_floors=slice_floors,
        champion=champion, train_path=train.path if train else None, skill_margin=skill_margin,
        attributions_path=feature_attributions.path,
    )
    for attribution in result.attributions:
        feature_attributions.log_metric(attribution.feature, attribution.importance)
    report.metadata["verdict"] = result.verdict.summary()
    report.metadata["breaking_change"] = result.verdict.breaking
    # Why, in one line, for the registry's audit trail (slices left out: there can be many).
    report.metadata["reason"] = "; ".join(c.reason for c in result.verdict.checks if c.kind != "slice")
    for name, value in sorted(result.evaluation.metrics.items()):
        metrics.log_metric(name, value)
    if result.evaluation.confusion_matrix:
        classification_metrics.log_confusion_matrix(result.evaluation.classes, result.evaluation.confusion_matrix)
    if result.evaluation.roc:
        roc = result.evaluation.roc
        classification_metrics.log_roc_curve(roc.x, roc.y, roc.thresholds)
    return result.blessed
