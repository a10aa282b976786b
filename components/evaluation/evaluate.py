"""``evaluate_model``'s library function: score, compare with the champion, slice, decide, report."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from kfp_mlops.components.core.artifacts import write_metrics_file
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.evaluation import gate
from kfp_mlops.components.evaluation import metrics as M
from kfp_mlops.components.evaluation.report import render_markdown

logger = logging.getLogger(__name__)


@dataclass
class EvaluationResult:
    """What ``evaluate_model`` logs and returns."""

    blessed: bool
    evaluation: M.Evaluation
    verdict: gate.Verdict
    champion: M.Evaluation | None = None
    champion_version: str = ""
    slices: dict[str, dict[str, float]] = field(default_factory=dict)
    report: str = ""
    attributions: list = field(default_factory=list)  # explain.GlobalAttribution, most important first


def global_attributions(predictor, frame, label: str, task: str) -> list:
    """Permutation importance of the raw features on the test rows (accuracy or r2); empty when it cannot run."""
    import logging

    from kfp_mlops.components.core.explain import permutation_attributions
    from kfp_mlops.components.core.features import label_values

    try:
        truth = label_values(frame[label], task)
        return permutation_attributions(predictor, frame, truth, "accuracy" if task == "classification" else "r2")
    except Exception as error:  # noqa: BLE001 - attributions explain the verdict; they never decide it
        logging.getLogger(__name__).warning("no feature attributions: %s", error)
        return []


def _champion(registry_uri: str, model_name: str, frame, label: str, pin: str = "",
              contract=None) -> tuple[M.Evaluation | None, str, str, list[str]]:
    """Scores the champion on the same rows: (evaluation, version, error, breaking changes).

    The breaking changes are how ``contract`` (the challenger's inputs) differs from the champion's.

    ``pin`` (``"<version>@<sha256>"``, from ``Registry.pin``) names the champion
    to compare with; empty means the registry's champion now.
    """
    if not (registry_uri and model_name):
        return None, "", "", []
    from kfp_mlops.components.core.model_io import breaking_changes
    from kfp_mlops.components.core.registry import CHAMPION, open_registry

    registry = open_registry(registry_uri)
    if not pin and not registry.has(model_name, CHAMPION):
        logger.info(f"no champion for {model_name!r} in {registry_uri}")
        return None, "", "", []
    version = registry.get_pinned(model_name, pin) if pin else registry.get(model_name, CHAMPION)
    predictor = registry.load(model_name, version.version)  # ChecksumError on tampered files: never silent
    changes = breaking_changes(predictor.contract, contract) if contract is not None else []
    try:
        evaluation = M.evaluate_frame(predictor, frame, label)
    except InputError as error:
        return None, version.version, str(error), changes
    return evaluation, version.version, "", changes


def no_skill_baseline(evaluation: M.Evaluation, train_labels=None) -> tuple[M.Scored, str]:
    """A no-skill model's predictions on the evaluation's rows, and its name for the reasons.

    Classification: always the training set's majority class, with the training
    class prior as probabilities. Regression: always the training mean. Without
    training labels, the test rows' own majority class or mean stand in.

    Args:
        evaluation: The challenger's evaluation (its rows and classes).
        train_labels: The training label column (a pandas Series), or None.
    """
    import numpy as np

    from kfp_mlops.components.core.features import label_values

    scored = evaluation.scored
    if scored is None:
        raise ValueError("the evaluation kept no per-row scores")
    rows = len(scored.truth)
    source = "training" if train_labels is not None else "test"
    if evaluation.task == "regression":
        values = label_values(train_labels.dropna(), "regression") if train_labels is not None else scored.truth
        mean = float(np.mean(values))
        return M.Scored(scored.truth, np.full(rows, mean)), f"the {source} mean {mean:.4g}"
    values = label_values(train_labels.dropna(), "classification").astype(str) if train_labels is not None \
        else scored.truth
    names, counts = np.unique(values, return_counts=True)
    majority = str(names[np.argmax(counts)])
    proba = None
    if scored.proba is not None:
        found = dict(zip(names.tolist(), counts.tolist(), strict=True))
        prior = np.array([found.get(label, 0) + 0.5 for label in scored.labels], dtype="float64")
        proba = np.tile(prior / prior.sum(), (rows, 1))
    return (M.Scored(scored.truth, np.full(rows, majority), proba, scored.labels),
            f"always {majority!r}, the {source} majority")


def evaluate_model_dir(
    model_dir: str | os.PathLike,
    test_path: str | os.PathLike,
    label: str,
    report_path: str | os.PathLike,
    metrics_path: str | os.PathLike | None = None,
    classification_metrics_path: str | os.PathLike | None = None,
    thresholds: dict[str, float] | None = None,
    registry_uri: str = "",
    model_name: str = "",
    regression_margin: float = 0.01,
    slice_feature: str = "",
    slice_floors: dict[str, float] | None = None,
    champion: str = "",
    train_path: str | os.PathLike | None = None,
    skill_margin: float = gate.SKILL_MARGIN,
    attributions_path: str | os.PathLike | None = None,
) -> EvaluationResult:
    """Evaluates a model directory on a labelled CSV and decides whether it is blessed.

    Blessed requires all of: skill over a no-skill baseline (the training
    majority class or mean) by ``skill_margin``; the absolute ``thresholds``;
    no regression beyond ``regression_margin`` against the registry's champion,
    by a paired bootstrap on the same rows (when ``registry_uri`` and
    ``model_name`` name one); and the ``slice_floors`` on every value of
    ``slice_feature``. See
    :mod:`kfp_mlops.components.evaluation.gate`. A champion that cannot score the
    test rows (its features are missing) fails the comparison, with the reason.

    Args:
        model_dir: The challenger's model directory.
        test_path: Labelled CSV with a header.
        label: The label column.
        report_path: Where the Markdown report goes.
        metrics_path: Where the scalar metrics JSON goes (optional).
        classification_metrics_path: Where the confusion matrix and ROC JSON go (optional).
        thresholds: Metric -> floor; a ceiling for rmse, mae and log_loss.
        registry_uri: The registry holding the champion.
        model_name: The model's registry name.
        regression_margin: Largest allowed drop against the champion.
        slice_feature: A column to slice the test rows by.
        slice_floors: Metric -> floor applied to every slice.
        champion: The champion to compare with, pinned as ``"<version>@<sha256>"``
            (``Registry.pin``); empty means the registry's champion now.
        train_path: The training CSV, for the no-skill baseline (its majority class
            or mean); None uses the test rows' own.
        skill_margin: How much the model must beat the no-skill baseline by (balanced
            accuracy for classification; a share of the baseline's rmse for regression).
        attributions_path: Where the global feature attributions (permutation importance) go as JSON (optional).

    Raises:
        InputError: For a missing label or feature column, an unknown metric,
            or slice floors without a slice feature.
        ChecksumError: If the champion's files do not match their sha256.
    """
    from kfp_mlops.components.core.model_io import load_model
    from kfp_mlops.components.core.sources import read_table

    if slice_floors and not slice_feature:
        raise InputError("slice_floors need a slice_feature")
    frame = read_table(test_path)
    predictor = load_model(model_dir)
    evaluation = M.evaluate_frame(predictor, frame, label)
    logger.info(f"{evaluation.task} on {evaluation.rows} rows: "
          + ", ".join(f"{k}={v:.4f}" for k, v in sorted(evaluation.metrics.items())))
    gate.check_threshold_names(thresholds or {}, evaluation.task)
    rival, champion_version, champion_error, breaking = _champion(registry_uri, model_name, frame, label, champion,
                                                                  predictor.contract)
    if rival is not None and rival.task != evaluation.task:
        champion_error = f"it does {rival.task}, this model does {evaluation.task}"
        rival = None
    slices = M.slice_metrics(predictor, frame, label, slice_feature) if slice_feature else {}
    champion_label = f"champion {champion_version}"
    train_labels = read_table(train_path, columns=[label])[label] if train_path else None
    baseline, baseline_name = no_skill_baseline(evaluation, train_labels)
    verdict = gate.decide(evaluation.task, evaluation.metrics, thresholds, rival.metrics if rival else None,
                          regression_margin, slices, slice_floors, slice_feature, champion_label,
                          scored=evaluation.scored, champion_scored=rival.scored if rival else None,
                          baseline=baseline, baseline_name=baseline_name, skill_margin=skill_margin)
    if breaking:
        verdict.breaking = (f"breaking change against {champion_label}: {'; '.join(breaking)}; "
                            "if blessed, it is registered as challenger and not promoted or deployed automatically")
        logger.info(f"{verdict.breaking}")
    if champion_error:
        verdict.checks.append(gate.Check(
            "champion", "", False, f"{champion_label} cannot be compared on the test rows: "
            f"{champion_error}; promote by hand with 'kfp-mlops models promote'"))
        verdict.blessed = False
    attributions = global_attributions(predictor, frame, label, evaluation.task)
    report = render_markdown(model_name, evaluation, verdict, rival, champion_label, slices, slice_feature,
                             attributions)
    Path(report_path).parent.mkdir(parents=True, exist_ok=True)
    Path(report_path).write_text(report)
    if metrics_path:
        write_metrics_file(metrics_path, evaluation.metrics)
    if classification_metrics_path:
        write_metrics_file(classification_metrics_path, {
            "classes": evaluation.classes, "confusion_matrix": evaluation.confusion_matrix,
            "roc": evaluation.roc.__dict__ if evaluation.roc else None,
            "pr": evaluation.pr.__dict__ if evaluation.pr else None})
    if attributions_path:
        write_metrics_file(attributions_path, {a.feature: {"importance": a.importance, "std": a.std}
                                               for a in attributions})
    logger.info(f"{'BLESSED' if verdict.blessed else 'NOT BLESSED'}"
          + "".join(f"\n  - {c.reason}" for c in verdict.checks))
    return EvaluationResult(verdict.blessed, evaluation, verdict, rival, champion_version, slices, report,
                            attributions)
