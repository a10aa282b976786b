"""Content fingerprints: they change exactly when the data does."""
from __future__ import annotations

import pytest

from kfp_mlops.components.data.fingerprint import fingerprint
from kfp_mlops.components.data.ingest import bundled_dataset_path, ingest_csv
from kfp_mlops.components.errors import InputError


def test_same_path_new_content_gives_a_new_fingerprint(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n1,a\n")
    first = fingerprint(str(path))
    assert first.startswith("sha256:") and fingerprint(str(path)) == first
    path.write_text("x,y\n1,b\n")
    assert fingerprint(str(path)) != first


def test_folder_fingerprint_follows_member_names_and_content(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.jsonl").write_text("{}\n")
    first = fingerprint(str(folder))
    assert first.startswith("tree-sha256:")
    (folder / "b.jsonl").write_text("{}\n")
    second = fingerprint(str(folder))
    assert second != first
    (folder / "b.jsonl").write_text("[]\n")
    assert fingerprint(str(folder)) != second


def test_bundled_data_and_missing_files():
    from kfp_mlops.components.artifacts import sha256_file

    assert fingerprint("") == "sha256:" + sha256_file(bundled_dataset_path())
    with pytest.raises(InputError, match="data file not found: /nowhere/x.csv"):
        fingerprint("/nowhere/x.csv")


def test_ingest_refuses_content_that_is_not_what_was_fingerprinted(tmp_path, penguins_csv):
    outputs = {name: str(tmp_path / f"{name}.csv") for name in ("train", "eval", "test")}
    stale = fingerprint(str(penguins_csv))
    assert ingest_csv(str(penguins_csv), "species", outputs, data_fingerprint=stale).rows["train"] > 0
    penguins_csv.write_text(penguins_csv.read_text().replace("Torgersen", "Torgersen2"))
    with pytest.raises(InputError, match="changed while the run was reading it"):
        ingest_csv(str(penguins_csv), "species", outputs, data_fingerprint=stale)


def test_fingerprint_component_output():
    from kfp_mlops.components.data.component import fingerprint_data

    assert fingerprint_data.python_func(data_path="") == fingerprint("")
