"""Unit tests of CSV ingestion and the hash-based split."""
from __future__ import annotations

import pandas as pd
import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.tables import read_csv
from kfp_mlops.components.data.ingest import assign_splits, ingest_csv


def _outputs(tmp_path):
    return {name: str(tmp_path / f"{name}.csv") for name in ("train", "eval", "test")}


def test_bundled_data_splits_into_three_disjoint_parts(tmp_path):
    result = ingest_csv("", "", _outputs(tmp_path))
    assert result.label == "species"
    assert sum(result.rows.values()) == 344
    parts = {name: pd.read_csv(tmp_path / f"{name}.csv") for name in ("train", "eval", "test")}
    assert 0.6 < len(parts["train"]) / 344 < 0.8
    assert all(len(part) > 20 for part in parts.values())
    assert set(parts["train"].columns) == set(result.columns)
    assert len(result.source_sha256) == 64


def test_split_depends_on_row_content_not_row_order(penguins_csv):
    frame = pd.read_csv(penguins_csv)
    shuffled = frame.sample(frac=1.0, random_state=7)
    original = pd.Series(assign_splits(frame), index=frame.index)
    reordered = pd.Series(assign_splits(shuffled), index=shuffled.index)
    pd.testing.assert_series_equal(original.sort_index(), reordered.sort_index())


def test_duplicate_rows_land_in_the_same_split():
    frame = pd.DataFrame({"a": [1.0, 2.0, 1.0] * 50, "b": ["x", "y", "x"] * 50})
    splits = assign_splits(frame)
    assert len(set(splits[frame["a"] == 1.0])) == 1


def test_unlabelled_rows_are_dropped_and_counted(tmp_path):
    path = tmp_path / "d.csv"
    rows = [f"{i},{i % 3 if i % 10 else ''}" for i in range(200)]
    path.write_text("x,y\n" + "\n".join(rows) + "\n")
    result = ingest_csv(str(path), "y", _outputs(tmp_path))
    assert result.dropped_unlabelled == 20
    assert sum(result.rows.values()) == 180


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "data file not found"),
        (b"", "data file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "holds binary data"),
        (b"just one column\nvalue\n", "does not look like a CSV"),
        (b"a,b,c\n", "has a header but no data rows"),
        (b"a,b\n1,2\n3,4,5,6\n", "not a well-formed CSV"),
        (b"a,b\n\xff\xfe1,2\n", "not UTF-8 text"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_csv(path)


def test_missing_label_lists_the_columns(penguins_csv, tmp_path):
    with pytest.raises(InputError, match=r"label column 'price' not found .* columns are: species, island"):
        ingest_csv(str(penguins_csv), "price", _outputs(tmp_path))


def test_bad_fractions_are_rejected(penguins_csv, tmp_path):
    with pytest.raises(InputError, match="eval_fraction"):
        ingest_csv(str(penguins_csv), "species", _outputs(tmp_path), eval_fraction=1.5)
    with pytest.raises(InputError, match="leave rows for training"):
        ingest_csv(str(penguins_csv), "species", _outputs(tmp_path), eval_fraction=0.5, test_fraction=0.5)


def test_ingest_component_writes_datasets_with_metadata(tmp_path):
    from kfp import dsl

    from kfp_mlops.components.data.component import ingest_data

    artifacts = {name: dsl.Dataset(uri=str(tmp_path / name)) for name in ("train", "eval", "test")}
    label = ingest_data.python_func(data_path="", label="", **artifacts)
    assert label == "species"
    assert artifacts["train"].metadata["rows"] == len(pd.read_csv(artifacts["train"].path))
    assert artifacts["test"].metadata["label"] == "species"
