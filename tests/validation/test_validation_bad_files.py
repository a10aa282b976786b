"""Bad files give a clear error that names the file, line or column."""
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.validation.statistics import compute_statistics
from kfp_mlops.components.validation.validate import validate_csv


def test_binary_file_is_not_csv(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))  # gzip bytes under a .csv name
    with pytest.raises(InputError, match=r"data.csv is not a CSV file: it holds binary data"):
        compute_statistics(path)


def test_missing_empty_and_directory(tmp_path):
    with pytest.raises(InputError, match="data file not found"):
        compute_statistics(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="data file is empty"):
        compute_statistics(tmp_path / "empty.csv")
    with pytest.raises(InputError, match="is a directory"):
        compute_statistics(tmp_path)


def test_ragged_rows_name_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n")
    with pytest.raises(InputError, match=r"ragged.csv is not a well-formed CSV: line 4 has 4 fields, "
                                         r"but the header has 3 columns"):
        compute_statistics(path)


def test_ragged_row_deep_in_a_large_file(tmp_path):
    path = tmp_path / "ragged.csv"
    rows = [f"{i},{i * 2}" for i in range(50_000)]
    rows[40_000] = "1,2,3"
    path.write_text("a,b\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match="line 40002 has 3 fields"):
        compute_statistics(path, block_size=1 << 16)


def test_wrong_encoding_names_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("city,n\nparis,1\nmünchen,2\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.csv is not UTF-8 text: .*line 3"):
        compute_statistics(path)


def test_wrong_encoding_after_the_first_block(tmp_path):
    path = tmp_path / "late.csv"
    body = "".join(f"city{i},{i}\n" for i in range(20_000))
    path.write_bytes(b"city,n\n" + body.encode() + "zürich,1\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"not UTF-8 text: bad byte at line 20002"):
        compute_statistics(path, block_size=1 << 16)


def test_header_only_is_an_empty_dataset(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("a,b,c\n")
    stats = compute_statistics(path)
    assert stats.datasets[0].num_examples == 0
    with pytest.raises(InputError, match="cannot infer a schema from an empty dataset"):
        validate_csv(path, tmp_path / "out")
    (tmp_path / "good.csv").write_text("a,b,c\n1,2,x\n3,4,y\n")
    found = validate_csv(path, tmp_path / "out2", baseline_path=tmp_path / "good.csv")
    assert not found.result.passed
    assert found.result.anomalies == ["(dataset): empty dataset (0 rows)"]


def test_all_nan_column_is_named(tmp_path):
    frame = pd.DataFrame({"a": np.arange(10.0), "b": [np.nan] * 10, "c": list("xyxyxyxyxy")})
    frame.to_csv(tmp_path / "nan.csv", index=False)
    found = validate_csv(tmp_path / "nan.csv", tmp_path / "out")
    assert not found.result.passed
    assert found.result.anomalies == ["b: no values (every row is empty or NaN)"]


def test_duplicate_and_blank_header_names(tmp_path):
    (tmp_path / "dup.csv").write_text("a,b,a\n1,2,3\n")
    with pytest.raises(InputError, match="duplicate column names: a"):
        compute_statistics(tmp_path / "dup.csv")


def test_types_widen_when_a_later_block_disagrees(tmp_path):
    path = tmp_path / "late.csv"
    ints = "".join(f"{i},{i}\n" for i in range(30_000))
    path.write_text("n,m\n" + ints + "2.5,unknown\n")
    features = {f.path.step[0]: f for f in compute_statistics(path, block_size=1 << 16).datasets[0].features}
    assert features["n"].type == features["n"].FLOAT
    assert features["n"].num_stats.max == 29_999 and features["n"].num_stats.common_stats.num_non_missing == 30_001
    assert features["m"].type == features["m"].STRING and features["m"].string_stats.unique == 30_001


def test_quoted_values_spanning_lines_are_not_ragged(tmp_path):
    path = tmp_path / "notes.csv"
    rows = "".join(f"{i},plain\n" for i in range(30_000))
    path.write_text('n,note\n' + rows + '7,"two\nlines, and a comma"\n')
    stats = compute_statistics(path, block_size=1 << 16)
    note = {f.path.step[0]: f for f in stats.datasets[0].features}["note"]
    assert stats.datasets[0].num_examples == 30_001
    assert "two\nlines, and a comma" in [b.label for b in note.string_stats.rank_histogram.buckets]


def test_bom_crlf_no_final_newline_and_gzip(tmp_path):
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfa,b\r\n1,x\r\n2,y")
    stats = compute_statistics(tmp_path / "bom.csv")
    assert stats.datasets[0].num_examples == 2
    assert [f.path.step[0] for f in stats.datasets[0].features] == ["a", "b"]
    body = "n,colour\n" + "".join(f"{i},{'red' if i % 3 else 'blue'}\n" for i in range(5000))
    (tmp_path / "data.csv.gz").write_bytes(gzip.compress(body.encode()))
    stats = compute_statistics(tmp_path / "data.csv.gz", block_size=1 << 12)
    assert stats.datasets[0].num_examples == 5000
    colour = stats.datasets[0].features[1].string_stats
    assert {v.value: v.frequency for v in colour.top_values} == {"red": 3333, "blue": 1667}


def test_stopping_early_ends_the_prefetch_thread(tmp_path):
    import threading
    import time

    from kfp_mlops.components.validation.reader import CsvBatches

    path = tmp_path / "many.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(200_000)))
    reader = CsvBatches(path, block_size=1 << 14).read()
    next(reader)
    reader.close()  # the consumer stops after one block of many
    deadline = time.monotonic() + 5
    while any(t.name == "csv-prefetch" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "csv-prefetch" for t in threading.enumerate())
