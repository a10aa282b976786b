"""The blessing gate: a model is blessed only when every check passes.

Four kinds of check, each with its reason in the report:

(s) **Skill**: the challenger must beat a no-skill baseline (the training
    majority class, or the training mean) on the same test rows, by
    ``skill_margin``, on a metric that is honest under class imbalance:
    balanced accuracy for classification (any constant guess scores 1/K), and
    for regression the rmse, which must be at least ``skill_margin`` (a share)
    below the baseline's. The report gives the paired bootstrap interval of
    the difference.
(a) **Absolute thresholds** ``{"accuracy": 0.9, "rmse": 12.0}``: a floor
    (``>=``) for higher-is-better metrics, a ceiling (``<=``) for the
    lower-is-better ones (``rmse``, ``mae``, ``log_loss``). None by default.
(b) **Not worse than the champion**: for every thresholded metric (or,
    without thresholds, the task's primary metric: balanced accuracy, rmse),
    a seeded paired bootstrap on the same test rows gives the interval of the
    challenger's difference from the champion; the challenger passes when the
    interval's worse end is within ``margin`` (absolute) of the champion, i.e.
    it is shown to be no worse than the champion by more than the margin.
    Skipped when there is no champion.
(c) **Per-slice floors** ``{"accuracy": 0.8}``: every slice of the slice
    feature must meet them (ceilings for lower-is-better metrics).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.metrics import higher_is_better
from kfp_mlops.components.evaluation import bootstrap
from kfp_mlops.components.evaluation.metrics import Scored

PRIMARY_METRIC = {"classification": "balanced_accuracy", "regression": "rmse"}
TASK_METRICS = {
    "classification": ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro", "log_loss",
                       "roc_auc", "average_precision"),
    "regression": ("rmse", "mae", "r2"),
}
SKILL_MARGIN = 0.05


@dataclass
class Check:
    """One check of the gate and its outcome."""

    kind: str  # "skill" | "threshold" | "champion" | "slice"
    metric: str
    passed: bool
    reason: str
    interval: bootstrap.Interval | None = None


@dataclass
class Verdict:
    """The gate's decision and every check behind it."""

    blessed: bool
    checks: list[Check] = field(default_factory=list)
    breaking: str = ""  # how the inputs differ from the champion's; such a model is never promoted automatically

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        """One line: ``blessed``, or why not (the first failure, and how many more)."""
        if self.blessed:
            return "blessed"
        failures = self.failures
        more = f" (and {len(failures) - 1} more failed check(s))" if len(failures) > 1 else ""
        return f"not blessed: {failures[0].reason}{more}" if failures else "not blessed"


def check_threshold_names(thresholds: dict[str, float], task: str = "", flag: str = "thresholds") -> None:
    """Checks that every thresholded metric exists (for ``task``, when it is known).

    Raises:
        InputError: Naming the unknown metric and the task's metrics.
    """
    known = TASK_METRICS.get(task) or tuple(sorted({m for names in TASK_METRICS.values() for m in names}))
    for metric in thresholds:
        if metric not in known:
            what = f"a {task} model" if task in TASK_METRICS else "any task"
            raise InputError(f"{flag}: unknown metric {metric!r} for {what}; known: {', '.join(known)}")


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
                            f"{metric} = {value:.4f} {'meets' if passed else 'fails'} "
                            f"{_sign(metric)} {float(bound):g}"))
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


def check_skill(task: str, challenger: Scored, baseline: Scored, baseline_name: str,
                margin: float = SKILL_MARGIN) -> Check:
    """(s) Beats the no-skill baseline on the same rows by ``margin`` (the interval is reported).

    Classification compares balanced accuracy (``margin`` in its units); regression compares rmse
    (``margin`` as a share of the baseline's rmse).
    """
    metric = PRIMARY_METRIC[task]
    interval = bootstrap.paired_difference(metric, challenger, baseline)
    mine, theirs = interval.a, interval.b
    if higher_is_better(metric):
        gain = interval.difference
        wanted = f"needs >= +{margin:g}"
    else:  # rmse: the gain is the share of the baseline's error removed
        gain = -interval.difference / (theirs if theirs > 0 else 1.0)
        wanted = f"needs an rmse at least {margin:.0%} below it"
    passed = math.isfinite(gain) and gain >= margin - 1e-12
    verdict = "beats" if passed else "does not beat"
    return Check("skill", metric, passed,
                 f"{metric} = {mine:.4f} {verdict} the no-skill baseline ({baseline_name}: {theirs:.4f}): "
                 f"difference {interval.describe()}; {wanted}", interval)


def check_champion_paired(challenger: Scored, champion: Scored, compared: list[str], margin: float,
                          champion_label: str = "champion", metrics: dict[str, float] | None = None,
                          champion_metrics: dict[str, float] | None = None) -> list[Check]:
    """(b) Not worse than the champion by more than ``margin``, by a paired bootstrap on the same rows.

    Metrics the bootstrap cannot compare fall back to :func:`check_champion`'s point comparison.
    """
    checks = []
    for metric in compared:
        if not bootstrap.supports(metric, challenger, champion):
            checks += check_champion(metrics or {}, champion_metrics or {}, [metric], margin, champion_label)
            continue
        interval = bootstrap.paired_difference(metric, challenger, champion)
        worst = -interval.low if higher_is_better(metric) else interval.high  # how much worse, at worst
        passed = math.isfinite(worst) and worst <= margin + 1e-12
        worse_by = -interval.difference if higher_is_better(metric) else interval.difference
        if worse_by <= 0:
            how = f"better than or equal to the {champion_label} ({interval.b:.4f})"
        else:
            how = f"worse than the {champion_label} ({interval.b:.4f}) by {worse_by:.4f}"
        verdict = "shown to be within" if passed else "not shown to be within"
        checks.append(Check("champion", metric, passed,
                            f"{metric} = {interval.a:.4f} is {how}; paired difference {interval.describe()}, "
                            f"{verdict} margin {margin:g}", interval))
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
                                f"{feature}={value} ({int(metrics.get('rows', 0))} rows): "
                                f"{metric} = {metric_value:.4f} "
                                f"{'meets' if passed else 'fails'} {_sign(metric)} {float(bound):g}"))
    return checks


def decide(task: str, metrics: dict[str, float], thresholds: dict[str, float] | None = None,
           champion: dict[str, float] | None = None, margin: float = 0.01,
           slices: dict[str, dict[str, float]] | None = None, slice_floors: dict[str, float] | None = None,
           slice_feature: str = "", champion_label: str = "champion", scored: Scored | None = None,
           champion_scored: Scored | None = None, baseline: Scored | None = None, baseline_name: str = "",
           skill_margin: float = SKILL_MARGIN) -> Verdict:
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
        scored: The challenger's per-row predictions; with ``champion_scored`` the
            champion comparison is a paired bootstrap, with ``baseline`` the skill check runs.
        champion_scored: The champion's per-row predictions on the same rows.
        baseline: (s) A no-skill baseline's predictions on the same rows.
        baseline_name: How the baseline is named in the reasons.
        skill_margin: (s) How much the challenger must beat the baseline by.

    Raises:
        InputError: For a metric the task does not have, or a negative margin.
    """
    thresholds = thresholds or {}
    if margin < 0:
        raise InputError(f"regression_margin must be >= 0, got {margin}")
    check_threshold_names(thresholds, task)
    checks = []
    if scored is not None and baseline is not None:
        checks.append(check_skill(task, scored, baseline, baseline_name or "no-skill", skill_margin))
    checks += check_thresholds(metrics, thresholds)
    compared = sorted(thresholds) or [PRIMARY_METRIC[task]]
    if champion is not None and scored is not None and champion_scored is not None:
        checks += check_champion_paired(scored, champion_scored, compared, margin, champion_label, metrics, champion)
    else:
        checks += check_champion(metrics, champion, compared, margin, champion_label)
    if slice_floors:
        if not slices:
            raise InputError("slice_floors need a slice_feature")
        for metric in slice_floors:
            _value(metrics, metric, "slice_floors")
        checks += check_slices(slices, slice_floors, slice_feature)
    return Verdict(all(c.passed for c in checks), checks)
