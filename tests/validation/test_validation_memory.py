"""Memory stays bounded: peak RSS of a validation does not grow with the file (slow)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_validation.py"

CODE = ("import contextlib, io, resource, sys\n"
        "from kfp_mlops.components.validation.validate import validate_csv\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    validate_csv(sys.argv[1], sys.argv[2])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)")


def _peak_rss_of_validation(csv: Path, out: Path) -> int:
    """Peak RSS of a fresh process that validates ``csv`` (measured by that process)."""
    done = subprocess.run([sys.executable, "-c", CODE, str(csv), str(out)], check=True,
                          capture_output=True, text=True)
    return int(done.stdout.strip().splitlines()[-1])


def _write(path: Path, rows: int) -> None:
    # in a child: a forked child's peak RSS starts at its parent's, so this process stays small
    subprocess.run([sys.executable, str(BENCH), "--write", str(path), "--rows", str(rows), "--cols", "20"],
                   check=True)


@pytest.mark.slow
def test_peak_rss_is_bounded_and_flat(tmp_path):
    _write(tmp_path / "small.csv", 200_000)
    _write(tmp_path / "big.csv", 3_000_000)
    small = _peak_rss_of_validation(tmp_path / "small.csv", tmp_path / "o1")
    big = _peak_rss_of_validation(tmp_path / "big.csv", tmp_path / "o2")
    print(f"peak RSS: 200k rows {small / 1e6:.0f} MB, 3M rows {big / 1e6:.0f} MB")
    assert big < 1e9
    assert big < small + 300e6  # 15x the rows, a bounded amount of extra memory
