"""Content fingerprints: they change exactly when the data does."""
from __future__ import annotations

import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.tables import bundled_dataset_path
from kfp_mlops.components.data.fingerprint import fingerprint
from kfp_mlops.components.data.ingest import ingest_csv


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
    from kfp_mlops.components.core.artifacts import sha256_file

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


class _Blob:
    def __init__(self, name, generation, md5):
        self.name, self.generation, self.md5_hash, self.crc32c = name, generation, md5, None


class _Bucket:
    objects: dict = {}

    def get_blob(self, name):
        return self.objects.get(name)

    def list_blobs(self, prefix):
        return [blob for name, blob in sorted(self.objects.items()) if name.startswith(prefix)]


def test_gcs_objects_are_fingerprinted_by_generation_without_downloading(monkeypatch):
    from google.cloud import storage

    class Client:
        def bucket(self, name):
            assert name == "b"
            return _Bucket()

    monkeypatch.setattr(storage, "Client", Client)
    _Bucket.objects = {"d/x.csv": _Blob("d/x.csv", 1, "m1")}
    first, folder = fingerprint("gs://b/d/x.csv"), fingerprint("gs://b/d")
    assert first == "gs:1:m1" and folder.startswith("gs-tree-sha256:")
    _Bucket.objects = {"d/x.csv": _Blob("d/x.csv", 2, "m2")}  # overwritten: a new generation
    assert fingerprint("gs://b/d/x.csv") != first and fingerprint("gs://b/d") != folder
    with pytest.raises(InputError, match="data file not found: gs://b/nothing"):
        fingerprint("gs://b/nothing")
