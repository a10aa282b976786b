"""The retraining decision: drift against the training baseline, and performance decay.

Drift comes from the validation step's Anomalies (TFX ``drift_skew_info``: a
Jensen-Shannon or L-infinity distance per feature, with the schema's
threshold). Decay compares a metric of the champion on newly labelled data
with the same metric at registration time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from tensorflow_metadata.proto.v0 import anomalies_pb2

from kfp_mlops.components.core.anomalies import describe_anomalies, read_anomalies
from kfp_mlops.components.core.escaping import markdown_text
from kfp_mlops.components.core.metrics import higher_is_better
from kfp_mlops.components.monitoring.attribution_drift import AttributionDrift


@dataclass
class RetrainingDecision:
    """Whether to retrain, and why."""

    retrain: bool
    reasons: list[str] = field(default_factory=list)
    drifted_features: dict[str, float] = field(default_factory=dict)
    data_issues: list[str] = field(default_factory=list)
    metric_drop: float | None = None
    attribution: AttributionDrift | None = None  # training vs serving attribution profiles, when compared

    def metrics(self) -> dict[str, float]:
        """Scalar metrics of the decision, for a KFP Metrics artifact."""
        values = {"retrain": float(self.retrain), "drifted_features": float(len(self.drifted_features))}
        if self.metric_drop is not None:
            values["metric_drop"] = float(self.metric_drop)
        if self.attribution is not None:
            values.update(self.attribution.metrics())
        return values

    def to_markdown(self) -> str:
        """The decision as a Markdown report."""
        lines = [f"# Monitoring: {'RETRAIN' if self.retrain else 'no retraining needed'}", ""]
        lines += ([f"- {markdown_text(reason)}" for reason in self.reasons]
                  or ["- no drift above the schema's thresholds, no decay"])
        if self.drifted_features:
            lines += ["", "| feature | drift distance |", "|---|---|"]
            lines += [f"| {markdown_text(name)} | {value:.4f} |"
                      for name, value in sorted(self.drifted_features.items())]
        if self.data_issues:
            lines += ["", "## Data issues (reported, not a reason to retrain)", ""]
            lines += [f"- {markdown_text(issue)}" for issue in self.data_issues]
        if self.attribution is not None:
            lines += ["", self.attribution.to_markdown().rstrip("\n")]
        return "\n".join(lines) + "\n"


def drifted_features(anomalies: anomalies_pb2.Anomalies) -> dict[str, float]:
    """Features whose drift distance exceeds its threshold, with the largest distance."""
    drifted = {}
    for info in anomalies.drift_skew_info:
        over = [m.value for m in info.drift_measurements if m.value > m.threshold]
        if over:
            drifted["/".join(info.path.step)] = max(over)
    return drifted


def metric_drop(metric: str, reference: Mapping[str, float], current: Mapping[str, float]) -> float | None:
    """How much worse ``metric`` got (positive means worse), or None when either side lacks it."""
    if metric not in reference or metric not in current:
        return None
    drop = float(reference[metric]) - float(current[metric])
    return drop if higher_is_better(metric) else -drop


def decide_retraining(
    anomalies_path: str | os.PathLike,
    metric: str = "accuracy",
    reference_metrics: Mapping[str, float] | None = None,
    current_metrics: Mapping[str, float] | None = None,
    max_metric_drop: float = 0.05,
    retrain_on_drift: bool = True,
    attribution_drift_path: str | os.PathLike = "",
) -> RetrainingDecision:
    """Decides whether the champion should be retrained.

    Args:
        anomalies_path: Anomalies of the serving data checked against the
            training schema with the training statistics as drift baseline.
        metric: The metric watched for decay.
        reference_metrics: The champion's metrics at registration.
        current_metrics: The champion's metrics on newly labelled data, if any.
        max_metric_drop: Decay beyond this triggers retraining.
        retrain_on_drift: Whether drift alone triggers retraining.
        attribution_drift_path: The attribution drift comparison (JSON, from
            ``check_attribution_drift``); attribution drift counts as drift.

    Returns:
        The decision and its reasons.
    """
    anomalies = read_anomalies(Path(anomalies_path))
    drifted = drifted_features(anomalies)
    issues = [line for line in describe_anomalies(anomalies) if line.split(":")[0] not in drifted]
    reasons = []
    if drifted and retrain_on_drift:
        reasons.append("drift above threshold in " + ", ".join(
            f"{name} ({value:.3f})" for name, value in sorted(drifted.items())))
    attribution = AttributionDrift.read(attribution_drift_path) if attribution_drift_path else None
    if attribution is not None and attribution.drifted and retrain_on_drift:
        reasons.append("attribution drift above threshold in " + ", ".join(
            f"{name} ({value:.3f})" for name, value in sorted(attribution.drifted.items())))
    drop = metric_drop(metric, reference_metrics or {}, current_metrics or {})
    if drop is not None and drop > max_metric_drop and reference_metrics and current_metrics:
        reasons.append(f"{metric} decayed by {drop:.3f} (more than {max_metric_drop}) on newly labelled data: "
                       f"{float(reference_metrics[metric]):.4f} -> {float(current_metrics[metric]):.4f}")
    return RetrainingDecision(retrain=bool(reasons), reasons=reasons, drifted_features=drifted,
                              data_issues=issues, metric_drop=drop, attribution=attribution)


def decide_for_champion(
    anomalies_path: str | os.PathLike,
    registry_uri: str,
    model_name: str,
    labelled_data_path: str = "",
    label: str = "",
    metric: str = "accuracy",
    max_metric_drop: float = 0.05,
    retrain_on_drift: bool = True,
    attribution_drift_path: str | os.PathLike = "",
) -> RetrainingDecision:
    """:func:`decide_retraining` for the registry's champion.

    When newly labelled rows are given, the champion is scored on them and
    compared with the metrics it was registered with.

    Raises:
        InputError: If the model has no champion, or the labelled rows are unusable.
    """
    from kfp_mlops.components.core.metrics import compute_metrics
    from kfp_mlops.components.core.registry import open_registry
    from kfp_mlops.components.core.tables import load_labelled

    reference, current = None, None
    if labelled_data_path:
        registry = open_registry(registry_uri)
        champion = registry.get(model_name, "champion")
        frame, _, label, _ = load_labelled(labelled_data_path, label)
        current = compute_metrics(registry.load(model_name, champion.version), frame, label)
        reference = champion.metrics
    return decide_retraining(anomalies_path, metric, reference, current, max_metric_drop, retrain_on_drift,
                             attribution_drift_path)
