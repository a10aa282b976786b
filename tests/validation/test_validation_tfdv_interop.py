"""TFDV 1.16.1 reads our statistics, schema and anomalies, and we read TFDV's statistics.

TFDV cannot share our environment (protobuf<5), so this runs it in the side venv
that ``python benchmarks/bench_validation.py --tfdv`` builds; skipped without it.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from kfp_mlops.components.core.anomalies import describe_anomalies
from kfp_mlops.components.core.schema_io import read_schema
from kfp_mlops.components.validation.checks import check_statistics
from kfp_mlops.components.validation.statistics import read_statistics
from kfp_mlops.components.validation.validate import generate_statistics, infer_schema, validate

TFDV_PYTHON = Path(__file__).resolve().parents[2] / "benchmarks" / ".tfdv-venv" / "bin" / "python"

SCRIPT = r"""
import json, sys
import pandas as pd
import tensorflow_data_validation as tfdv
d = sys.argv[1]
base = tfdv.load_stats_binary(d + "/base.pb")
cur = tfdv.load_stats_binary(d + "/cur.pb")
schema = tfdv.load_schema_text(d + "/schema.pbtxt")
ours = tfdv.load_anomalies_text(d + "/anomalies.pbtxt")
clean = tfdv.validate_statistics(base, schema)
drift = tfdv.validate_statistics(cur, schema, previous_statistics=base)
tfdv.write_anomalies_text(drift, d + "/tfdv_anomalies.pbtxt")
tfdv.write_stats_text(tfdv.generate_statistics_from_dataframe(pd.read_csv(d + "/base.csv")), d + "/tfdv_base.pbtxt")
tfdv.write_stats_text(tfdv.generate_statistics_from_dataframe(pd.read_csv(d + "/cur.csv")), d + "/tfdv_cur.pbtxt")
print(json.dumps({"clean": sorted(clean.anomaly_info), "drift": sorted(drift.anomaly_info),
                  "ours": sorted(ours.anomaly_info), "features": len(tfdv.infer_schema(cur).feature)}))
"""


def _write(path: Path, rows: int, seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    pacsv.write_csv(pa.table({
        "steady": rng.normal(0, 1, rows), "moving": rng.normal(shift, 1, rows),
        "n": rng.poisson(4, rows), "colour": rng.choice(["red", "blue", "green"], rows),
        "size": rng.choice(["s", "m", "l"], rows, p=[0.2, 0.3, 0.5] if shift else [0.5, 0.3, 0.2]),
    }), path)


@pytest.mark.slow
@pytest.mark.skipif(not TFDV_PYTHON.exists(), reason="no TFDV venv (python benchmarks/bench_validation.py --tfdv)")
def test_tfdv_reads_ours_and_we_read_tfdv(tmp_path):
    _write(tmp_path / "base.csv", 20_000, 0, 0.0)
    _write(tmp_path / "cur.csv", 20_000, 1, 1.5)
    generate_statistics(tmp_path / "base.csv", tmp_path / "base.pb")
    generate_statistics(tmp_path / "cur.csv", tmp_path / "cur.pb")
    infer_schema(tmp_path / "base.pb", tmp_path / "schema.pbtxt")
    validate(tmp_path / "cur.pb", tmp_path / "schema.pbtxt", tmp_path / "anomalies.pbtxt", tmp_path / "r.html",
             baseline_statistics_path=tmp_path / "base.pb")
    done = subprocess.run([str(TFDV_PYTHON), "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, check=False,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["clean"] == []  # TFDV finds our own data valid against our schema
    assert seen["drift"] == ["moving", "size"] == seen["ours"]  # and the same drift as we do
    assert seen["features"] == 5
    # TFDV's statistics, read by us: same schema checks pass, same drift found
    schema = read_schema(tmp_path / "schema.pbtxt")
    tfdv_base = read_statistics(tmp_path / "tfdv_base.pbtxt")
    assert check_statistics(tfdv_base, schema).anomalies.anomaly_info == {}
    result = check_statistics(read_statistics(tmp_path / "tfdv_cur.pbtxt"), schema, baseline=tfdv_base)
    assert sorted(result.anomalies.anomaly_info) == ["moving", "size"]
    lines = describe_anomalies(tmp_path / "tfdv_anomalies.pbtxt")  # TFDV's anomalies, described by us
    assert [line.split(":")[0] for line in lines] == ["moving", "size"]
