"""Booleans and dates in statistics, schema and drift (TFX ``bool_domain`` and ``time_domain``)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kfp_mlops.components.core.schema_io import is_categorical
from kfp_mlops.components.core.timestamps import detect_format, to_days
from kfp_mlops.components.validation.checks import check_statistics
from kfp_mlops.components.validation.schema import infer_schema_from_statistics
from kfp_mlops.components.validation.statistics import compute_statistics


def _write(path, rows: int = 600, seed: int = 0, years: int = 0, flag_rate: float = 0.5):
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2021-01-01") + pd.DateOffset(years=years) + pd.to_timedelta(rng.integers(0, 365, rows), "D")
    pd.DataFrame({
        "signup": day.strftime("%Y-%m-%d"),
        "seen at": (day + pd.to_timedelta(rng.integers(0, 86400, rows), "s")).strftime("%Y-%m-%dT%H:%M:%S"),
        "member": rng.random(rows) < flag_rate,
        "city": rng.choice(["Paris", "Lyon"], rows),
        "y": rng.integers(0, 2, rows),
    }).to_csv(path, index=False)
    return path


def _schema(tmp_path):
    baseline = compute_statistics(_write(tmp_path / "base.csv"))
    return baseline, infer_schema_from_statistics(baseline, label="y")


def test_booleans_and_dates_get_tfx_domains(tmp_path):
    _, schema = _schema(tmp_path)
    by_name = {f.name: f for f in schema.feature}
    assert by_name["member"].HasField("bool_domain")
    assert by_name["signup"].time_domain.string_format == "%Y-%m-%d"
    assert by_name["seen at"].time_domain.string_format == "%Y-%m-%dT%H:%M:%S"
    assert not by_name["signup"].domain and not by_name["signup"].HasField("string_domain")
    assert not is_categorical(by_name["signup"]) and is_categorical(by_name["city"])
    assert by_name["signup"].drift_comparator.HasField("jensen_shannon_divergence")
    assert not by_name["city"].HasField("time_domain")


def test_a_three_year_shift_in_dates_is_drift(tmp_path):
    baseline, schema = _schema(tmp_path)
    shifted = compute_statistics(_write(tmp_path / "shifted.csv", seed=1, years=3))
    result = check_statistics(shifted, schema, baseline=baseline)
    assert result.drift["signup"][1] > 0.5 and result.drift["seen at"][1] > 0.5
    assert {"signup", "seen at"} <= {a for a in result.anomalies.anomaly_info}
    assert "member" not in result.anomalies.anomaly_info


def test_same_dates_resampled_are_not_drift(tmp_path):
    baseline, schema = _schema(tmp_path)
    same = compute_statistics(_write(tmp_path / "same.csv", seed=2))
    result = check_statistics(same, schema, baseline=baseline)
    assert result.drift["signup"][1] < 0.1
    assert not result.anomalies.anomaly_info


def test_boolean_rate_change_is_drift(tmp_path):
    baseline, schema = _schema(tmp_path)
    moved = compute_statistics(_write(tmp_path / "moved.csv", seed=3, flag_rate=0.95))
    assert "member" in check_statistics(moved, schema, baseline=baseline).anomalies.anomaly_info


def test_text_in_a_date_column_is_an_anomaly(tmp_path):
    _, schema = _schema(tmp_path)
    frame = pd.read_csv(_write(tmp_path / "bad.csv", seed=4))
    frame.loc[::3, "signup"] = "soon"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    result = check_statistics(compute_statistics(tmp_path / "bad.csv"), schema)
    assert "not all dates" in str(result.anomalies.anomaly_info["signup"])


@pytest.mark.parametrize("values, expected", [
    (["2024-01-31", "2023-12-01"], "%Y-%m-%d"),
    (["2024-01-31 10:00:00"], "%Y-%m-%d %H:%M:%S"),
    (["31/01/2024", "01/02/2024"], "%d/%m/%Y"),
    (["12", "2024-01-31"], None),
    (["Paris"], None),
])
def test_detect_format(values, expected):
    assert detect_format(values) == expected


def test_to_days_reads_missing_and_flags_bad_values():
    days, bad = to_days(pd.Series(["1970-01-02", None, "nope"]), "%Y-%m-%d")
    assert days[0] == 1.0 and np.isnan(days[1]) and np.isnan(days[2])
    assert bad.tolist() == [False, False, True]
