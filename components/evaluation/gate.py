"""The blessing gate: a model is blessed only when every check passes.

Three kinds of check, each with its reason in the report:

(a) **Absolute thresholds** ``{"accuracy": 0.9, "rmse": 12.0}``: a floor
    (``>=``) for higher-is-better metrics, a ceiling (``<=``) for the
    lower-is-better ones (``rmse``, ``mae``, ``log_loss``).
(b) **No regression against the champion**: for every thresholded metric (or,
    without thresholds, the task's primary metric), the challenger may be worse
    than the champion, scored on the same test rows, by at most ``margin``
    (absolute). Skipped when there is no champion.
(c) **Per-slice floors** ``{"accuracy": 0.8}``: every slice of the slice
    feature must meet them (ceilings for lower-is-better metrics).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from kfp_mlops.components.errors import InputError
from kfp_mlops.components.evaluation.metrics import higher_is_better

PRIMARY_METRIC = {"classification": "accuracy", "regression": "rmse"}


@dataclass
class Check:
    """One check of the gate and its outcome."""

    kind: str  # "threshold" | "champion" | "slice"
    metric: str
    passed: bool
    reason: str


@dataclass
class Verdict:
    """The gate's decision and every check behind it."""

    blessed: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]


def _value(metrics: dict[str, float], metric: str, where: str) -> float:
    if metric not in metrics:
        raise InputError(f"{where}: unknown metric {metric!r} for this task; known: {', '.join(sorted(metrics))}")
    return float(metrics[metric])


def _meets(value: float, bound: float, metric: str) -> bool:
    if math.isnan(value):
        return False
    return value >= bound if higher_is_better(metric) else value <= bound


def _sign(metric: str) -> str:
    return ">=" if higher_is_better(metric) else "<="


def check_thresholds(metrics: dict[str, float], thresholds: dict[str, float]) -> list[Check]:
    """(a) Absolute thresholds: floors, or ceilings for lower-is-better metrics.

    Raises:
        InputError: Naming a thresholded metric the task does not have.
    """
    checks = []
    for metric, bound in sorted(thresholds.items()):
        value = _value(metrics, metric, "thresholds")
        passed = _meets(value, float(bound), metric)
        checks.append(Check("threshold", metric, passed,
                            f"{metric} = {value:.4f} {'meets' if passed else 'fails'} {_sign(metric)} {float(bound):g}"))
    return checks


def check_champion(metrics: dict[str, float], champion: dict[str, float] | None, compared: list[str],
                   margin: float, champion_label: str = "champion") -> list[Check]:
    """(b) No regression beyond ``margin`` against the champion's metrics on the same rows.

    Returns one passing check that says so when there is no champion.
    """
    if champion is None:
        return [Check("champion", "", True, "no champion registered: nothing to compare against")]
    checks = []
    for metric in compared:
        mine, theirs = _value(metrics, metric, "challenger"), _value(champion, metric, champion_label)
        worse_by = (theirs - mine) if higher_is_better(metric) else (mine - theirs)
        passed = not math.isnan(worse_by) and worse_by <= margin + 1e-12
        if worse_by <= 0:
            how = f"better than or equal to the {champion_label} ({theirs:.4f})"
        else:
            how = f"worse than the {champion_label} ({theirs:.4f}) by {worse_by:.4f}"
        verdict = "within" if passed else "beyond"
        checks.append(Check("champion", metric, passed, f"{metric} = {mine:.4f} is {how}, {verdict} margin {margin:g}"))
    return checks


def check_slices(slices: dict[str, dict[str, float]], floors: dict[str, float], feature: str) -> list[Check]:
    """(c) Per-slice floors (ceilings for lower-is-better metrics) on every slice of ``feature``."""
    checks = []
    for value, metrics in slices.items():
        for metric, bound in sorted(floors.items()):
            if metric not in metrics:
                # A one-class slice has no ROC AUC: that is a failure, not a silent pass.
                checks.append(Check("slice", metric, False, f"{feature}={value}: {metric} is undefined on this slice"))
                continue
            metric_value = float(metrics[metric])
            passed = _meets(metric_value, float(bound), metric)
            checks.append(Check("slice", metric, passed,
                                f"{feature}={value} ({int(metrics.get('rows', 0))} rows): {metric} = {metric_value:.4f} "
                                f"{'meets' if passed else 'fails'} {_sign(metric)} {float(bound):g}"))
    return checks


def decide(task: str, metrics: dict[str, float], thresholds: dict[str, float] | None = None,
           champion: dict[str, float] | None = None, margin: float = 0.01,
           slices: dict[str, dict[str, float]] | None = None, slice_floors: dict[str, float] | None = None,
           slice_feature: str = "", champion_label: str = "champion") -> Verdict:
    """Runs the three checks; ``blessed`` is True only when all pass.

    Args:
        task: ``classification`` or ``regression``.
        metrics: The challenger's metrics.
        thresholds: (a) metric -> floor (ceiling for rmse, mae, log_loss).
        champion: (b) the champion's metrics on the same rows, or None.
        margin: (b) the largest allowed regression, in the metric's units.
        slices: (c) per-slice metrics of the challenger.
        slice_floors: (c) metric -> floor applied to every slice.
        slice_feature: The sliced feature, for the reasons.
        champion_label: How the champion is named in the reasons (e.g. ``champion v3``).

    Raises:
        InputError: For a metric the task does not have, or a negative margin.
    """
    thresholds = thresholds or {}
    if margin < 0:
        raise InputError(f"regression_margin must be >= 0, got {margin}")
    checks = check_thresholds(metrics, thresholds)
    compared = sorted(thresholds) or [PRIMARY_METRIC[task]]
    checks += check_champion(metrics, champion, compared, margin, champion_label)
    if slice_floors:
        if not slices:
            raise InputError("slice_floors need a slice_feature")
        for metric in slice_floors:
            _value(metrics, metric, "slice_floors")
        checks += check_slices(slices, slice_floors, slice_feature)
    return Verdict(all(c.passed for c in checks), checks)
