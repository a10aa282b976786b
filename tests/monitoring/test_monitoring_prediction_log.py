"""The local endpoint's prediction log: sampled, bounded, time-partitioned Parquet that reads back as rows."""
import time

import numpy as np
import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.monitoring.prediction_log import PredictionLogger, read_prediction_log
from kfp_mlops.components.monitoring.serving_log import ServedRow, list_parts, write_rows


def test_records_read_back_as_rows(tmp_path):
    logger = PredictionLogger(tmp_path, model="m")
    written = logger.log([{"x": 1.5, "c": "a"}, {"x": 2.0, "c": "b"}], np.array(["yes", "no"]), "v1")
    assert written == 2
    frame = read_prediction_log(tmp_path)
    assert list(frame["x"]) == [1.5, 2.0]
    assert list(frame["prediction"]) == ["yes", "no"]
    assert set(frame["model_version"]) == {"v1"} and set(frame["model"]) == {"m"}
    [part] = list_parts(tmp_path)
    assert "/date=" in part.path and "/hour=" in part.path and part.path.endswith(".parquet")


def test_sampling_keeps_about_the_rate(tmp_path):
    logger = PredictionLogger(tmp_path, sample_rate=0.2, seed=3, flush_rows=1000)
    written = sum(logger.log([{"x": i}], [0], "v1") for i in range(2000))
    logger.flush()
    assert 300 < written < 500
    assert len(read_prediction_log(tmp_path)) == written


def test_the_log_stays_within_its_size_and_keeps_the_newest(tmp_path):
    logger = PredictionLogger(tmp_path, max_bytes=30_000)
    for i in range(60):
        logger.log([{"x": i, "pad": "p" * 20}], [i % 2], "v1")
    parts = list_parts(tmp_path)
    assert sum(p.size for p in parts) <= 30_000 * 1.05 and len(parts) < 60  # checked every 5% written
    frame = read_prediction_log(tmp_path)
    assert frame["x"].max() == 59 and frame["x"].is_monotonic_increasing


def test_buffered_rows_are_written_on_flush(tmp_path):
    logger = PredictionLogger(tmp_path, flush_rows=100, flush_seconds=3600)
    logger.log([{"x": 1}], [0], "v1")
    assert list_parts(tmp_path) == []
    logger.flush()
    assert len(read_prediction_log(tmp_path)) == 1


def test_a_time_window_reads_only_its_rows(tmp_path):
    now = time.time()
    rows = [ServedRow(now - hours * 3600, f"r{hours}", "m", "v1", {"x": hours}, 0) for hours in (50, 26, 2, 0)]
    write_rows(tmp_path, rows)
    assert len(list_parts(tmp_path)) == 4  # one hour partition each
    frame = read_prediction_log(tmp_path, since=now - 30 * 3600)
    assert sorted(frame["x"]) == [0, 2, 26]
    frame = read_prediction_log(tmp_path, since=now - 30 * 3600, until=now - 3600)
    assert list(frame["x"]) == [26, 2]
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60 * 3600))
    assert len(read_prediction_log(tmp_path, since=iso)) == 4
    with pytest.raises(InputError, match="no served rows in .* between"):
        read_prediction_log(tmp_path, since=now + 3600)
    with pytest.raises(InputError, match="empty time window"):
        read_prediction_log(tmp_path, since=now, until=now - 10)
    with pytest.raises(InputError, match="not a time: 'yesterday'"):
        read_prediction_log(tmp_path, since="yesterday")


def test_empty_log_and_bad_settings_are_clear(tmp_path):
    with pytest.raises(InputError, match="no served rows"):
        read_prediction_log(tmp_path)
    with pytest.raises(InputError, match="sample_rate"):
        PredictionLogger(tmp_path, sample_rate=0)
    (tmp_path / "date=2026-01-01" / "hour=00").mkdir(parents=True)
    (tmp_path / "date=2026-01-01" / "hour=00" / "part-1.parquet").write_text("not parquet\n")
    with pytest.raises(InputError, match="not a serving log"):
        read_prediction_log(tmp_path)


def test_endpoint_requests_are_logged_and_read_back(tmp_path, penguins_model):
    import json
    import urllib.request

    from kfp_mlops.components.core.model_io import load_model
    from kfp_mlops.components.monitoring.prediction_log import logged_predictor
    from kfp_mlops.components.serving.server import start_local_endpoint

    logger = PredictionLogger(tmp_path / "log")
    rows = [{"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181, "body_mass_g": 3750,
             "island": "Torgersen", "sex": "male"}] * 3
    with start_local_endpoint(logged_predictor(load_model(penguins_model), logger, "v4"), name="penguins") as endpoint:
        request = urllib.request.Request(endpoint.v1_predict_url, json.dumps({"instances": rows}).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            predictions = json.loads(response.read())["predictions"]
    frame = read_prediction_log(tmp_path / "log")
    assert len(frame) == 3
    assert list(frame["prediction"]) == predictions
    assert set(frame["model_version"]) == {"v4"} and list(frame["island"]) == ["Torgersen"] * 3
