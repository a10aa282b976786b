"""Image digests: pin every image of ours to ``registry/kfp-mlops-<family>@sha256:...`` at compile time.

A tag is mutable: a compiled pipeline that names ``:abc123`` runs whatever that tag
points to on the day it runs, and KFP's cache key (which includes the image) does not
change when the tag moves. A digest names exactly one image. Two sources:

- a digest file that the image build writes (Cloud Build's build steps run
  ``docker inspect --format '{{index .RepoDigests 0}}'`` after ``docker push``):
  one ``REF@sha256:...`` per line, or JSON ``{"core": "sha256:...", ...}``;
- the registry itself: ``HEAD /v2/<repository>/manifests/<tag>`` (the Docker Registry
  HTTP API v2, which Artifact Registry, GHCR and Docker Hub serve) answers the digest in
  its ``Docker-Content-Digest`` header.
"""
from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from kfp_mlops.components.images import FAMILIES, family_of

logger = logging.getLogger(__name__)

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def read_digest_file(path: str | os.PathLike) -> dict[str, str]:
    """Reads image digests by family from a file.

    Args:
        path: Lines ``[registry/]kfp-mlops-<family>@sha256:<hex>`` (blank lines and ``#``
            comments ignored), or a JSON object ``{family: digest or reference}``.

    Returns:
        ``{family: "sha256:..."}``.

    Raises:
        ValueError: One line naming the file and the entry at fault.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{file}: cannot read the image digest file ({error.strerror or error})") from None
    if text.lstrip().startswith("{"):
        try:
            entries = [(str(key), str(value)) for key, value in json.loads(text).items()]
        except (json.JSONDecodeError, AttributeError) as error:
            raise ValueError(f"{file}: not a JSON object of family -> digest ({error})") from None
    else:
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            ref, at, digest = line.rpartition("@")
            family = family_of(ref) if at else None
            if family is None:
                raise ValueError(f"{file}:{number}: expected REGISTRY/kfp-mlops-<family>@sha256:<hex>, got {line!r}")
            entries.append((family, digest))
    digests: dict[str, str] = {}
    for family, value in entries:
        digest = value.rpartition("@")[2]
        if family not in FAMILIES:
            raise ValueError(f"{file}: unknown image family {family!r}; expected one of: {', '.join(FAMILIES)}")
        if not DIGEST.match(digest):
            raise ValueError(f"{file}: {family}: {value!r} is not a sha256 digest")
        digests[family] = digest
    if not digests:
        raise ValueError(f"{file}: no image digests")
    return digests


def _registry_url(registry: str) -> tuple[str, str]:
    """Splits ``host[:port]/path`` into the API base URL and the repository path.

    Loopback hosts are reached over http, like Docker's default insecure ``localhost``.
    """
    host, _, repository = registry.strip("/").partition("/")
    hostname = host.rsplit(":", 1)[0]
    scheme = "http" if hostname in ("localhost", "127.0.0.1", "[::1]") else "https"
    return f"{scheme}://{host}", repository


def _bearer_from_challenge(session, challenge: str, timeout: float) -> str | None:
    """Answers a ``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` challenge anonymously."""
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    if not challenge.lower().startswith("bearer") or "realm" not in fields:
        return None
    params = {key: fields[key] for key in ("service", "scope") if key in fields}
    reply = session.get(fields["realm"], params=params, timeout=timeout)
    if reply.status_code != 200:
        return None
    body = reply.json()
    return body.get("token") or body.get("access_token")


def _google_token(host: str) -> str | None:
    """An Application Default Credentials access token for Artifact Registry and GCR hosts."""
    if not (host.endswith("-docker.pkg.dev") or host.endswith("gcr.io")):
        return None
    try:
        import google.auth
        import google.auth.transport.requests

        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        credentials.refresh(google.auth.transport.requests.Request())
        return credentials.token
    except Exception as error:  # noqa: BLE001 - no credentials here: try anonymously
        logger.info("no Google credentials for %s (%s); asking anonymously", host, error)
        return None


def resolve_digests(
    registry: str, tag: str, families: tuple[str, ...] = FAMILIES, timeout: float = 10.0
) -> dict[str, str]:
    """Asks the registry for the digest of ``registry/kfp-mlops-<family>:<tag>``, per family.

    Args:
        registry: Registry prefix, e.g. ``us-docker.pkg.dev/PROJECT/REPO``.
        tag: The tag to pin, e.g. a commit SHA.
        families: The image families to resolve.
        timeout: Seconds per HTTP request.

    Returns:
        ``{family: "sha256:..."}``.

    Raises:
        ValueError: One line naming the image that could not be resolved and why.
    """
    import requests

    base, repository = _registry_url(registry)
    session = requests.Session()
    token = _google_token(base.split("//", 1)[1])
    digests: dict[str, str] = {}
    for family in families:
        name = "/".join(part for part in (repository, f"kfp-mlops-{family}") if part)
        url = f"{base}/v2/{name}/manifests/{tag}"
        headers = {"Accept": MANIFEST_TYPES}
        try:
            reply = session.head(url, headers={**headers, **_auth(token)}, timeout=timeout)
            if reply.status_code == 401:
                token = _bearer_from_challenge(session, reply.headers.get("WWW-Authenticate", ""), timeout) or token
                reply = session.head(url, headers={**headers, **_auth(token)}, timeout=timeout)
        except requests.RequestException as error:
            raise ValueError(f"cannot reach the registry for {registry}/kfp-mlops-{family}:{tag}: {error}") from None
        digest = reply.headers.get("Docker-Content-Digest", "")
        if reply.status_code != 200 or not DIGEST.match(digest):
            raise ValueError(f"{registry}/kfp-mlops-{family}:{tag}: the registry answered {reply.status_code} "
                             f"with no sha256 digest (is the image pushed, and may this account read it?)")
        digests[family] = digest
    return digests


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
