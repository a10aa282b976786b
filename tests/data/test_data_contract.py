"""The data contract at ingestion: one-line errors that name the user's file and column."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from kfp_mlops.components.core import data_contract as contract
from kfp_mlops.components.core.data_contract import model_name_from, preflight
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.tables import read_csv
from kfp_mlops.components.data.ingest import ingest_csv
from kfp_mlops.components.validation.reader import CsvBatches


def _outputs(tmp_path):
    return {name: str(tmp_path / f"{name}.csv") for name in ("train", "eval", "test")}


def _frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=rows).round(4), "z": rng.integers(0, 9, rows),
                         "y": rng.choice(["a", "b"], rows)})


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_duplicate_label_column_is_refused_before_pandas_renames_it(tmp_path):
    path = tmp_path / "dup.csv"
    frame = _frame()
    path.write_text("x,y,y\n" + "\n".join(f"{x},{y},{y}" for x, y in zip(frame.x, frame.y)) + "\n")
    for read in (read_csv, lambda p: ingest_csv(str(p), "y", _outputs(tmp_path)), preflight):
        with pytest.raises(InputError) as error:
            read(path)
        assert "duplicate column names: 'y'" in _one_line(error) and str(path) in str(error.value)


def test_numeric_column_holding_text_gives_the_share_and_an_example(tmp_path):
    frame = _frame(300).astype({"x": object})
    frame.loc[frame.index % 3 == 0, "x"] = "unknown"
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as error:
        ingest_csv(str(path), "y", _outputs(tmp_path))
    message = _one_line(error)
    assert "column 'x'" in message and str(path) in message
    assert "33%" in message and "'unknown'" in message


def test_the_table_reader_names_the_first_text_row_of_a_numeric_looking_column(tmp_path):
    frame = _frame(300).astype({"x": object})
    frame.loc[[41, 100, 250], "x"] = ["unknown", "unknown", "missing"]
    frame.loc[frame.index % 2 == 0, "x"] = frame.loc[frame.index % 2 == 0, "x"].map(lambda v: f" {v} ")
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as error:
        read_csv(path)
    message = _one_line(error)  # counted on distinct values, weighted by their rows: 3 of 300 rows
    assert "column 'x'" in message and "1% of its values are text" in message
    assert "'unknown' on data row 42" in message


def test_the_text_check_passes_list_cells_and_still_reads_the_text_among_them():
    contract.check_values(pd.DataFrame({"tags": [np.array([1, 2]), np.array([3])], "y": ["a", "b"]}), "t.parquet")
    with pytest.raises(InputError) as error:
        contract.check_values(pd.DataFrame({"x": [[1], "1", "2", "3", "zz"]}), "t.parquet")
    assert "'zz' on data row 5" in _one_line(error)


def test_a_text_column_with_a_few_numbers_stays_categorical(tmp_path):
    frame = _frame(100)
    frame["code"] = ["A1", "B2", "C3", "42"] * 25
    path = tmp_path / "codes.csv"
    frame.to_csv(path, index=False)
    assert read_csv(path)["code"].dtype == object


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_infinite_values_are_refused(tmp_path, value):
    frame = _frame().astype({"x": object})
    frame.loc[17, "x"] = value
    path = tmp_path / "inf.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as error:
        read_csv(path)
    assert "column 'x'" in _one_line(error) and "infinite" in str(error.value)


def test_nul_byte_deep_in_the_file_is_refused_by_both_readers(tmp_path):
    frame = _frame(20_000)
    path = tmp_path / "nul.csv"
    frame.to_csv(path, index=False)
    data = bytearray(path.read_bytes())
    assert len(data) > 200_000  # far past the 64 KiB sniff
    position = data.index(b"\n", 150_000) + 3
    data[position:position] = b"\x00"
    path.write_bytes(bytes(data))
    # pandas alone would silently cut the value at the NUL byte
    with pytest.raises(InputError) as error:
        read_csv(path)
    assert "holds binary data" in _one_line(error) and "line" in str(error.value)
    with pytest.raises(InputError, match="holds binary data"):
        for _ in CsvBatches(path, block_size=1 << 16).read():
            pass


def test_unreadable_file_is_a_one_line_error(tmp_path, monkeypatch):
    path = tmp_path / "secret.csv"
    _frame().to_csv(path, index=False)
    path.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the open fail as it would for a user
        real_open = open

        def deny(file, *args, **kwargs):
            if str(file) == str(path):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr("builtins.open", deny)
    for read in (read_csv, preflight):
        with pytest.raises(InputError) as error:
            read(path)
        assert _one_line(error) == f"cannot read {path}: permission denied"


def test_single_class_and_too_few_rows_name_the_users_file(tmp_path):
    single = tmp_path / "my data.csv"
    _frame().assign(y="a").to_csv(single, index=False)
    few = tmp_path / "few.csv"
    _frame(12).to_csv(few, index=False)
    for check in (lambda p: ingest_csv(str(p), "y", _outputs(tmp_path)), lambda p: preflight(p, "y")):
        with pytest.raises(InputError) as error:
            check(single)
        assert f"label column 'y' in {single} has a single value ('a')" in _one_line(error)
        with pytest.raises(InputError) as error:
            check(few)
        assert f"{few} has 12 labelled rows" in _one_line(error)


def test_preflight_reads_only_a_bounded_sample(tmp_path):
    path = tmp_path / "big.csv"
    _frame(200).to_csv(path, index=False)
    with open(path, "a") as handle:  # past the sample: a ragged row the task would refuse
        handle.write("0," * 10 + "\n")
    result = preflight(path, "y", sample_bytes=1024)
    assert not result.complete and result.columns == ["x", "z", "y"]
    with pytest.raises(InputError, match="not a well-formed CSV"):
        read_csv(path)


def test_preflight_checks_the_header_of_a_large_file_quickly(tmp_path):
    path = tmp_path / "big.csv"
    _frame(200).to_csv(path, index=False)
    with pytest.raises(InputError, match="label column 'price' not found"):
        preflight(path, "price", sample_bytes=1024)


@pytest.mark.parametrize(
    "file_name, expected",
    [
        ("penguins.csv", "penguins"),
        ("Données clients 2024.csv", "donnees-clients-2024"),
        ("my_data (copy).csv", "my-data-copy"),
        ("日本語.csv", "model"),
        ("-x-.csv", "x"),
    ],
)
def test_default_model_name_is_a_valid_registry_name(file_name, expected):
    from kfp_mlops.components.registry.local import check_name

    assert check_name(model_name_from(f"/data/{file_name}")) == expected


def test_cli_refuses_bad_input_before_any_task(tmp_path, isolated_home, capfd):
    from kfp_mlops.pipelines.cli.main import main

    path = tmp_path / "dup.csv"
    path.write_text("species,species,x\n" + "a,a,1\nb,b,2\n" * 30)
    assert main(["run", "training", "--data", str(path), "--label", "species"]) == 2
    captured = capfd.readouterr()
    assert "duplicate column names: 'species'" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert "pipeline root" not in captured.out  # failed before the run started
    assert not (isolated_home / "pipeline_root").exists()


def test_contract_keeps_good_data_as_it_is(tmp_path, penguins_csv):
    frame = read_csv(penguins_csv)
    assert frame.shape == (344, 8)
    result = preflight(penguins_csv, "species")
    assert result.complete and result.label_values == 344
    assert contract.scan_file(penguins_csv) == __import__("hashlib").sha256(penguins_csv.read_bytes()).hexdigest()


def test_preflight_cut_inside_a_quoted_value_is_not_an_error(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("note,y\n" + "".join(f'"line one\nline {i}",{"ab"[i % 2]}\n' for i in range(100)))
    size = len(path.read_bytes())
    for cut in range(40, 200, 7):
        assert preflight(path, "y", sample_bytes=cut).columns == ["note", "y"]
    assert preflight(path, "y", sample_bytes=size).complete
