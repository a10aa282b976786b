"""Drift fires on a shifted column and stays quiet on unshifted ones, on small data and at 1M rows."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from kfp_mlops.components.validation.checks import check_statistics
from kfp_mlops.components.validation.drift import js_divergence
from kfp_mlops.components.validation.schema import infer_schema_from_statistics
from kfp_mlops.components.validation.statistics import compute_statistics


def _write(path, rows: int, seed: int, shift: float = 0.0, mix: tuple = (0.5, 0.3, 0.2)) -> None:
    rng = np.random.default_rng(seed)
    table = pa.table({
        "steady": rng.normal(10, 2, rows),
        "moving": rng.normal(10 + shift * 2, 2, rows),
        "count": rng.poisson(3, rows),
        "skewed": rng.lognormal(0, 1, rows),
        "colour": rng.choice(["red", "green", "blue"], rows, p=[0.5, 0.3, 0.2]),
        "size": rng.choice(["s", "m", "l"], rows, p=list(mix)),
    })
    pacsv.write_csv(table, path)


def _drift(tmp_path, rows: int, shift: float, mix=(0.5, 0.3, 0.2), seeds=(0, 1)):
    _write(tmp_path / "base.csv", rows, seeds[0])
    _write(tmp_path / "cur.csv", rows, seeds[1], shift=shift, mix=mix)
    baseline = compute_statistics(tmp_path / "base.csv")
    schema = infer_schema_from_statistics(baseline)
    result = check_statistics(compute_statistics(tmp_path / "cur.csv"), schema, baseline=baseline)
    return result


def test_js_divergence_bounds():
    assert js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)
    assert js_divergence(np.array([0.3, 0.7]), np.array([3.0, 7.0])) == pytest.approx(0.0)


@pytest.mark.parametrize("seeds", [(0, 1), (2, 3), (4, 5)])
def test_small_samples_of_one_distribution_stay_quiet(tmp_path, seeds):
    result = _drift(tmp_path, rows=150, shift=0.0, seeds=seeds)
    assert result.anomalies.anomaly_info == {}, dict(result.drift)
    assert max(v for m, v, _ in result.drift.values() if m == "jensen_shannon") < 0.08
    assert all(floor > 0.1 for floor in result.within_noise.values())  # chance gaps at 150 rows exceed 0.1


def test_noise_floor_vanishes_at_scale():
    from kfp_mlops.components.validation.drift import js_noise_floor, linf_noise_floor

    assert linf_noise_floor(0.5, 50, 240) > 0.2
    assert linf_noise_floor(0.5, 1_000_000, 1_000_000) < 0.003
    assert js_noise_floor(150, 150) < 0.1 and js_noise_floor(1_000_000, 1_000_000) < 0.001


def test_shift_fires_on_small_data(tmp_path):
    result = _drift(tmp_path, rows=300, shift=1.5, mix=(0.2, 0.3, 0.5))
    assert sorted(result.anomalies.anomaly_info) == ["moving", "size"]


def test_drift_at_one_million_rows(tmp_path):
    result = _drift(tmp_path, rows=1_000_000, shift=1.0, mix=(0.35, 0.35, 0.3))
    assert sorted(result.anomalies.anomaly_info) == ["moving", "size"]
    measure, value, _ = result.drift["moving"]
    assert measure == "jensen_shannon" and value > 0.1
    assert result.drift["size"][0] == "l_infinity" and result.drift["size"][1] == pytest.approx(0.15, abs=0.005)
    for quiet in ("steady", "count", "skewed", "colour"):
        assert result.drift[quiet][1] < 0.005, (quiet, result.drift[quiet])


def test_subtle_shift_at_one_million_rows_is_measured_not_flagged(tmp_path):
    # a 0.1-sigma shift is real but small: the distance sees it, the 0.1 threshold does not fire
    result = _drift(tmp_path, rows=1_000_000, shift=0.1)
    assert result.anomalies.anomaly_info == {}
    assert result.drift["moving"][1] > 5 * result.drift["steady"][1]
