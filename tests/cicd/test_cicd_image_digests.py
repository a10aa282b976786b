"""`kfp-mlops compile` pins every image of ours by digest: from a digest file, or from the registry's API."""
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from kfp_mlops.components.images import DEFAULT_TAG, FAMILIES, image_name
from kfp_mlops.pipelines.cli.main import main
from kfp_mlops.pipelines.compiler import pipeline_factories
from kfp_mlops.pipelines.image_digests import read_digest_file, resolve_digests

DIGESTS = {family: "sha256:" + hashlib.sha256(family.encode()).hexdigest() for family in FAMILIES}


class FakeRegistry:
    """A Docker Registry HTTP API v2 on loopback: a Bearer challenge, a token endpoint, manifest HEADs."""

    def __init__(self, tag: str):
        self.seen: list[tuple[str, str, str, str]] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the token endpoint
                registry.seen.append(("GET", self.path, "", ""))
                body = b'{"token": "t0k"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self):  # noqa: N802
                auth = self.headers.get("Authorization", "")
                registry.seen.append(("HEAD", self.path, auth, self.headers.get("Accept", "")))
                name, _, reference = self.path.removeprefix("/v2/").partition("/manifests/")
                family = name.rsplit("kfp-mlops-", 1)[-1]
                if auth != "Bearer t0k":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", f'Bearer realm="{registry.url}/token",'
                                                         f'service="fake",scope="repository:{name}:pull"')
                elif reference == tag and family in DIGESTS:
                    self.send_response(200)
                    self.send_header("Docker-Content-Digest", DIGESTS[family])
                else:
                    self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.registry = f"127.0.0.1:{self.server.server_address[1]}/proj/repo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def registry():
    fake = FakeRegistry(tag="abc123")
    yield fake
    fake.close()


def _images(path):
    text = path.read_text()
    return {line.split("image:", 1)[1].strip() for line in text.splitlines() if "image:" in line}


def test_digest_file_lines_and_json(tmp_path):
    lines = tmp_path / "digests.txt"
    lines.write_text("# docker inspect RepoDigests\n" + "".join(
        f"us-docker.pkg.dev/p/r/kfp-mlops-{family}@{digest}\n" for family, digest in DIGESTS.items()))
    assert read_digest_file(lines) == DIGESTS
    as_json = tmp_path / "digests.json"
    as_json.write_text(f'{{"core": "{DIGESTS["core"]}"}}')
    assert read_digest_file(as_json) == {"core": DIGESTS["core"]}


@pytest.mark.parametrize("text, message", [
    ("kfp-mlops-core:latest\n", r"bad\.txt:1: expected REGISTRY/kfp-mlops-<family>@sha256"),
    ("r/kfp-mlops-core@sha256:12\n", r"bad\.txt: core: 'sha256:12' is not a sha256 digest"),
    ("r/other-image@sha256:" + "0" * 64 + "\n", r"bad\.txt:1: expected"),
    ("# nothing\n", r"bad\.txt: no image digests"),
])
def test_a_bad_digest_file_is_one_line(tmp_path, text, message):
    bad = tmp_path / "bad.txt"
    bad.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_digest_file(bad)


def test_compile_pins_every_image_from_a_digest_file(tmp_path, capsys):
    digests = tmp_path / "digests.txt"
    digests.write_text("".join(f"r/kfp-mlops-{f}@{d}\n" for f, d in DIGESTS.items()))
    out = tmp_path / "out"
    assert main(["compile", "--target", "vertex", "--out", str(out), "--image-registry", "reg.example/p",
                 "--image-digest-file", str(digests)]) == 0
    for name in pipeline_factories():
        images = _images(out / f"{name}.yaml")
        ours = {image for image in images if "kfp-mlops-" in image}
        assert ours and all("@sha256:" in image and image.startswith("reg.example/p/") for image in ours), ours
        spec = (out / f"{name}.yaml").read_text()
        assert "ghcr.io/kfp-mlops" not in spec  # parameter defaults (the serving image) are pinned too
        assert yaml.safe_load(spec)["pipelineInfo"]["name"]


def test_compile_resolves_digests_through_the_registry_api(registry, tmp_path):
    out = tmp_path / "out"
    assert main(["compile", "training", "--target", "kfp", "--out", str(out),
                 "--image-registry", registry.registry, "--image-tag", "abc123", "--image-digest"]) == 0
    images = {image for image in _images(out / "training.yaml") if "kfp-mlops-" in image}
    assert images == {f"{registry.registry}/kfp-mlops-{f}@{DIGESTS[f]}" for f in ("core", "serve")}
    heads = [entry for entry in registry.seen if entry[0] == "HEAD"]
    assert heads[0][2] == "" and all(h[2] == "Bearer t0k" for h in heads[1:])  # challenge answered once
    assert "application/vnd.oci.image.index.v1+json" in heads[-1][3]
    assert ("GET", "/token?service=fake&scope=repository%3Aproj%2Frepo%2Fkfp-mlops-core%3Apull", "", "") \
        in registry.seen


def test_an_unpushed_tag_fails_with_one_line(registry):
    with pytest.raises(ValueError, match=r"kfp-mlops-core:nope: the registry answered 404 with no sha256 digest"):
        resolve_digests(registry.registry, "nope")


def test_python_components_and_published_yamls_name_the_same_release_image():
    from pathlib import Path

    from kfp_mlops import __version__
    from kfp_mlops.components.data.component import ingest_data

    assert DEFAULT_TAG == __version__
    image = ingest_data.component_spec.implementation.container.image
    assert image == image_name("core")
    published = Path(__file__).resolve().parents[2] / "components" / "data" / "ingest_data.yaml"
    assert f"image: {image}" in published.read_text()
