"""Downloading a gs:// model directory (Vertex's AIP_STORAGE_URI) through google-cloud-storage, on loopback."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from google.auth.credentials import AnonymousCredentials

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.model_io import load_model
from kfp_mlops.components.deployment.storage import fetch_model_dir, split_gcs_uri


class FakeGCS:
    """The two GCS JSON API calls a folder download makes: list objects, and download one (alt=media)."""

    def __init__(self, objects: dict[tuple[str, str], bytes]):
        self.objects = objects
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                parts = url.path.split("/")
                query = parse_qs(url.query)
                if url.path.startswith("/download/storage/v1/b/"):
                    data = fake.objects.get((parts[5], unquote(parts[7])))
                    status, content_type = (200, "application/octet-stream") if data is not None else (404, "text/plain")
                    data = data if data is not None else b"not found"
                elif url.path.startswith("/storage/v1/b/") and url.path.endswith("/o"):
                    prefix = query.get("prefix", [""])[0]
                    items = [{"kind": "storage#object", "bucket": b, "name": n, "size": str(len(v))}
                             for (b, n), v in fake.objects.items() if b == parts[4] and n.startswith(prefix)]
                    status, content_type, data = 200, "application/json", json.dumps({"items": items}).encode()
                else:
                    status, content_type, data = 404, "text/plain", b"no route"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture(scope="module")
def gcs(penguin_model_dir):
    objects = {("bucket", f"vertex/model/{p.name}"): p.read_bytes() for p in penguin_model_dir.iterdir()}
    objects[("bucket", "vertex/model/")] = b""  # a folder placeholder
    objects[("bucket", "vertex/model-other/feature_contract.json")] = b"{}"  # a sibling folder, not ours
    fake = FakeGCS(objects)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def client_for(fake):
    from google.cloud import storage

    return storage.Client(project="proj", credentials=AnonymousCredentials(), client_options={"api_endpoint": fake.url})


def test_gs_folder_is_downloaded_and_loads(gcs, tmp_path, penguin_model_dir, penguins_frame):
    local = fetch_model_dir("gs://bucket/vertex/model", tmp_path / "model", client=client_for(gcs))
    assert sorted(p.name for p in local.iterdir()) == sorted(p.name for p in penguin_model_dir.iterdir())
    rows = penguins_frame.head(5)
    assert load_model(local).predict(rows).tolist() == load_model(penguin_model_dir).predict(rows).tolist()


def test_empty_gs_folder_and_missing_local_folder_are_input_errors(gcs, tmp_path):
    with pytest.raises(InputError, match="no files under gs://bucket/elsewhere"):
        fetch_model_dir("gs://bucket/elsewhere", tmp_path / "x", client=client_for(gcs))
    with pytest.raises(InputError, match="model directory not found"):
        fetch_model_dir(str(tmp_path / "missing"))
    assert fetch_model_dir(str(tmp_path)) == tmp_path


def test_split_gcs_uri():
    assert split_gcs_uri("gs://b/a/c/") == ("b", "a/c")
    assert split_gcs_uri("gs://b") == ("b", "")
    with pytest.raises(InputError, match="not a gs:// URI"):
        split_gcs_uri("s3://b/a")
