"""The prediction log is sampled, bounded and rotated, and reads back as rows."""
import numpy as np
import pytest

from kfp_mlops.components.errors import InputError
from kfp_mlops.components.monitoring.prediction_log import PredictionLogger, read_prediction_log


def test_records_read_back_as_rows(tmp_path):
    logger = PredictionLogger(tmp_path)
    written = logger.log([{"x": 1.5, "c": "a"}, {"x": 2.0, "c": "b"}], np.array(["yes", "no"]), "v1")
    assert written == 2
    frame = read_prediction_log(tmp_path)
    assert list(frame["x"]) == [1.5, 2.0]
    assert list(frame["prediction"]) == ["yes", "no"]
    assert set(frame["model_version"]) == {"v1"}


def test_sampling_keeps_about_the_rate(tmp_path):
    logger = PredictionLogger(tmp_path, sample_rate=0.2, seed=3)
    written = sum(logger.log([{"x": i}], [0], "v1") for i in range(2000))
    assert 300 < written < 500


def test_rotation_bounds_the_files_and_total_size(tmp_path):
    logger = PredictionLogger(tmp_path, max_bytes=2_000, max_files=3)
    for i in range(300):
        logger.log([{"x": i, "pad": "p" * 20}], [i % 2], "v1")
    files = list(tmp_path.glob("predictions*.jsonl"))
    assert len(files) <= 3
    assert sum(f.stat().st_size for f in files) <= 3 * 2_000 + 200
    frame = read_prediction_log(tmp_path)
    assert frame["x"].max() == 299  # the newest records are kept
    assert frame["x"].is_monotonic_increasing


def test_empty_log_and_bad_settings_are_clear(tmp_path):
    with pytest.raises(InputError, match="no logged predictions"):
        read_prediction_log(tmp_path)
    with pytest.raises(InputError, match="sample_rate"):
        PredictionLogger(tmp_path, sample_rate=0)
    (tmp_path / "predictions.jsonl").write_text("not json\n")
    with pytest.raises(InputError, match="predictions.jsonl:1 is not a JSON prediction record"):
        read_prediction_log(tmp_path)


def test_endpoint_requests_are_logged_and_read_back(tmp_path, penguins_model):
    import json
    import urllib.request

    from kfp_mlops.components.deployment.server import start_local_endpoint
    from kfp_mlops.components.monitoring.prediction_log import logged_predictor
    from kfp_mlops.components.training.model_io import load_model

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
