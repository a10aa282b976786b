"""A seeded paired bootstrap: the interval of one metric's difference between two models on the same rows.

Both models are scored on each resample of the test rows, so the interval
reflects how much the *difference* moves, not each model's own noise: two
models that agree on most rows get a tight interval. Resamples are Poisson(1)
row weights (the streaming form of the bootstrap), drawn in chunks so memory
stays bounded on large test sets; every metric of
:mod:`kfp_mlops.components.evaluation.metrics` but ROC AUC and average
precision is a weighted sum and is computed for all resamples at once. Those
two are resampled by index, with fewer resamples.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kfp_mlops.components.evaluation.metrics import Scored

RESAMPLES = 1000
RANKING_RESAMPLES = 200
CONFIDENCE = 0.95
SEED = 0
_CHUNK_CELLS = 4_000_000  # weights per chunk (resamples x rows)
_TOTAL_CELLS = 30_000_000  # past this, fewer resamples (at least RANKING_RESAMPLES): large sets give tight intervals


@dataclass
class Interval:
    """``a - b`` for one metric: the difference on all rows and its bootstrap interval."""

    metric: str
    difference: float
    low: float
    high: float
    resamples: int
    confidence: float = CONFIDENCE
    a: float = float("nan")  # the metric of each model on all rows
    b: float = float("nan")

    def describe(self) -> str:
        """e.g. ``-0.0200 [95% CI -0.0500, +0.0100]``."""
        return f"{self.difference:+.4f} [{self.confidence:.0%} CI {self.low:+.4f}, {self.high:+.4f}]"


def _safe(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 0.0)


Finish = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _classification(metric: str, scored: Scored) -> tuple[np.ndarray, Finish]:
    """Per-row columns whose weighted sums give ``metric``, and how to finish it from those sums."""
    truth, predicted = scored.truth.astype(str), scored.predicted.astype(str)
    if metric == "log_loss":
        index = {label: i for i, label in enumerate(scored.labels)}
        columns = np.array([index[t] for t in truth])
        proba = np.asarray(scored.proba)  # supports() checked it is there
        losses = -np.log(np.clip(proba[np.arange(len(truth)), columns], 1e-15, 1.0))
        return losses[:, None], lambda sums, total: _safe(sums[:, 0], total)
    labels = sorted(set(truth.tolist()) | set(predicted.tolist()))
    codes = {label: i for i, label in enumerate(labels)}
    true_1h = np.eye(len(labels))[[codes[t] for t in truth]]
    pred_1h = np.eye(len(labels))[[codes[p] for p in predicted]]
    k = len(labels)

    def finish(sums: np.ndarray, total: np.ndarray) -> np.ndarray:
        in_truth, in_pred, hits = sums[:, :k], sums[:, k:2 * k], sums[:, 2 * k:]
        if metric == "accuracy":
            return _safe(hits.sum(axis=1), total)
        if metric == "balanced_accuracy":  # mean recall over the classes present in the truth
            return _safe(_safe(hits, in_truth).sum(axis=1), (in_truth > 0).sum(axis=1).astype(float))
        present = (in_truth + in_pred) > 0  # macro averages over classes in the truth or the predictions
        per_class = {"recall_macro": _safe(hits, in_truth), "precision_macro": _safe(hits, in_pred),
                     "f1_macro": _safe(2 * hits, in_truth + in_pred)}[metric]
        return _safe((per_class * present).sum(axis=1), present.sum(axis=1).astype(float))

    return np.hstack([true_1h, pred_1h, true_1h * pred_1h]), finish


def _regression(metric: str, scored: Scored) -> tuple[np.ndarray, Finish]:
    truth = scored.truth.astype("float64")
    error = scored.predicted.astype("float64") - truth
    if metric == "rmse":
        return (error**2)[:, None], lambda sums, total: np.sqrt(_safe(sums[:, 0], total))
    if metric == "mae":
        return np.abs(error)[:, None], lambda sums, total: _safe(sums[:, 0], total)

    def r2(sums: np.ndarray, total: np.ndarray) -> np.ndarray:
        spread = sums[:, 1] - _safe(sums[:, 2] ** 2, total)  # weighted sum of squares about the mean
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(spread > 1e-12, 1.0 - sums[:, 0] / np.where(spread > 1e-12, spread, 1), np.nan)

    return np.column_stack([error**2, truth**2, truth]), r2


def _prepare(metric: str, scored: Scored) -> tuple[np.ndarray, Finish]:
    if scored.labels or scored.truth.dtype.kind in "OUS":
        return _classification(metric, scored)
    return _regression(metric, scored)


def _weighted(metric: str, weights: np.ndarray, scored: Scored) -> np.ndarray:
    """``metric`` of one model under each row of ``weights`` (resamples x rows)."""
    columns, finish = _prepare(metric, scored)
    return finish(weights @ columns, weights.sum(axis=1))


WEIGHTED = {"accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro", "log_loss",
            "rmse", "mae", "r2"}
RANKING = {"roc_auc", "average_precision"}


def supports(metric: str, a: Scored, b: Scored) -> bool:
    """True when the bootstrap can compare ``metric`` for these two models."""
    needs_proba = metric in RANKING or metric == "log_loss"
    if needs_proba and (a.proba is None or b.proba is None):
        return False
    if metric in RANKING:
        return len(a.labels) == 2 == len(b.labels)
    return metric in WEIGHTED


def _ranking(metric: str, rows: np.ndarray, scored: Scored) -> float:
    from sklearn import metrics as m

    truth = (scored.truth[rows].astype(str) == scored.labels[1]).astype(int)
    if truth.min() == truth.max():
        return float("nan")
    score = np.asarray(scored.proba)[rows, 1]
    return float(m.roc_auc_score(truth, score) if metric == "roc_auc" else m.average_precision_score(truth, score))


def paired_difference(metric: str, a: Scored, b: Scored, resamples: int = RESAMPLES, seed: int = SEED,
                      confidence: float = CONFIDENCE) -> Interval:
    """The difference ``metric(a) - metric(b)`` on the same rows, with its percentile bootstrap interval.

    Args:
        metric: A metric name of :mod:`~kfp_mlops.components.evaluation.metrics` (see :func:`supports`).
        a: The first model's rows (the challenger).
        b: The second model's rows (the champion, or a no-skill baseline), the same rows in the same order.
        resamples: How many bootstrap resamples.
        seed: The random seed: the same inputs give the same interval.
        confidence: The interval's two-sided coverage.

    Raises:
        ValueError: If the two hold different rows or the metric is not supported.
    """
    rows = len(a.truth)
    if rows != len(b.truth) or rows == 0:
        raise ValueError(f"paired bootstrap needs the same rows: {rows} vs {len(b.truth)}")
    if not supports(metric, a, b):
        raise ValueError(f"metric {metric!r} cannot be bootstrapped for these models")
    rng = np.random.default_rng(seed)
    if metric in RANKING:
        resamples = min(resamples, RANKING_RESAMPLES)
        values = (_ranking(metric, np.arange(rows), a), _ranking(metric, np.arange(rows), b))
        draws = []
        for _ in range(resamples):
            sample = rng.integers(0, rows, rows)
            draws.append(_ranking(metric, sample, a) - _ranking(metric, sample, b))
        differences = np.asarray(draws)
    else:
        (columns_a, finish_a), (columns_b, finish_b) = _prepare(metric, a), _prepare(metric, b)
        columns = np.hstack([columns_a, columns_b])
        split = columns_a.shape[1]

        def both(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            sums, total = weights @ columns, weights.sum(axis=1)
            return finish_a(sums[:, :split], total), finish_b(sums[:, split:], total)

        def difference(weights: np.ndarray) -> np.ndarray:
            first, second = both(weights)
            return first - second

        first, second = both(np.ones((1, rows)))
        values = (float(first[0]), float(second[0]))
        resamples = max(min(resamples, RANKING_RESAMPLES), min(resamples, _TOTAL_CELLS // rows))
        chunk = max(1, _CHUNK_CELLS // rows)
        parts = []
        for start in range(0, resamples, chunk):
            parts.append(difference(rng.poisson(1.0, size=(min(chunk, resamples - start), rows)).astype("float64")))
        differences = np.concatenate(parts)
    tail = (1.0 - confidence) / 2 * 100
    differences = differences[np.isfinite(differences)]
    low, high = np.percentile(differences, [tail, 100 - tail]) if differences.size else (float("nan"),) * 2
    return Interval(metric, values[0] - values[1], float(low), float(high), resamples, confidence, *values)
