"""Memory stays bounded: peak RSS of a validation does not grow with the file (slow)."""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

CODE = ("import sys; from kfp_mlops.components.validation.validate import validate_csv; "
        "validate_csv(sys.argv[1], sys.argv[2])")


def _peak_rss_of_validation(csv: Path, out: Path) -> int:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-c", CODE, str(csv), str(out)], check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert after >= before
    return after * 1024


@pytest.mark.slow
def test_peak_rss_is_bounded_and_flat(tmp_path):
    from bench_validation import write_csv

    write_csv(tmp_path / "small.csv", 200_000, 20, seed=0)
    write_csv(tmp_path / "big.csv", 3_000_000, 20, seed=1)
    small = _peak_rss_of_validation(tmp_path / "small.csv", tmp_path / "o1")
    big = _peak_rss_of_validation(tmp_path / "big.csv", tmp_path / "o2")
    print(f"peak RSS: 200k rows {small / 1e6:.0f} MB, 3M rows {big / 1e6:.0f} MB")
    assert big < 1e9
    assert big < small + 300e6  # 15x the rows, a bounded amount of extra memory
