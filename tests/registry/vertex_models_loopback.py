"""A loopback stand-in for the Vertex AI Model Registry REST API (models, versions, aliases).

It keeps real state, records every request, and answers ``models:upload`` with
an already-done long-running operation, so tests can run the real aiplatform
client against it and assert what it sent.
"""
from __future__ import annotations

import itertools
import re
from urllib.parse import unquote

from loopback import LoopbackJsonServer

TYPE = "type.googleapis.com/google.cloud.aiplatform.v1."


class FakeModelRegistry(LoopbackJsonServer):
    """Models with versions and aliases; ``.url`` is the api_endpoint for aiplatform.init."""

    def __init__(self, project: str = "proj", location: str = "us-central1"):
        super().__init__()
        self.parent = f"projects/{project}/locations/{location}"
        self.models: dict[str, list[dict]] = {}  # resource name -> versions
        self._ids = itertools.count(501)

    def _upload(self, body: dict) -> tuple[int, dict]:
        model = dict(body["model"])
        name = body.get("parentModel") or f"{self.parent}/models/{next(self._ids)}"
        versions = self.models.setdefault(name, [])
        version_id = str(len(versions) + 1)
        aliases = [a for a in model.get("versionAliases", [])]
        for other in versions:  # an alias names one version at a time
            other["versionAliases"] = [a for a in other["versionAliases"] if a not in aliases]
        versions.append({**model, "name": name, "versionId": version_id, "versionAliases": aliases})
        return 200, {"name": f"{self.parent}/operations/{next(self._ids)}", "done": True,
                     "response": {"@type": TYPE + "UploadModelResponse", "model": name, "modelVersionId": version_id}}

    def _find(self, path: str) -> tuple[str, dict] | None:
        name, _, version = path.partition("@")
        versions = self.models.get(name)
        if not versions:
            return None
        if not version:
            version = next((v["versionId"] for v in versions if "default" in v["versionAliases"]), versions[-1]["versionId"])
        chosen = next((v for v in versions if v["versionId"] == version or version in v["versionAliases"]), None)
        return (name, chosen) if chosen else None

    def route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict]:
        path = unquote(path).removeprefix("/v1/")
        if method == "POST" and path == f"{self.parent}/models:upload":
            return self._upload(body)
        if method == "GET" and path == f"{self.parent}/models":
            wanted = re.search(r'display_name="([^"]*)"', query.get("filter", [""])[0])
            found = [self._find(name)[1] for name in self.models]
            return 200, {"models": [m for m in found if not wanted or m["displayName"] == wanted.group(1)]}
        target, _, verb = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "")
        located = self._find(target)
        if located is None:
            return 404, {"error": {"code": 404, "message": f"no route {method} {path}", "status": "NOT_FOUND"}}
        name, version = located
        if method == "GET" and not verb:
            return 200, version
        if method == "PATCH" and not verb:  # base model fields (description, labels) are shared by every version
            for field in query.get("updateMask", [""])[0].split(","):
                key = {"display_name": "displayName"}.get(field, field)
                for each in self.models[name]:
                    each[key] = body.get(key)
            return 200, version
        if method == "GET" and verb == "listVersions":
            return 200, {"models": self.models[name]}
        if method == "POST" and verb == "mergeVersionAliases":
            for alias in body.get("versionAliases", []):
                if alias.startswith("-"):
                    version["versionAliases"] = [a for a in version["versionAliases"] if a != alias[1:]]
                    continue
                for other in self.models[name]:
                    other["versionAliases"] = [a for a in other["versionAliases"] if a != alias]
                version["versionAliases"].append(alias)
            return 200, version
        return 404, {"error": {"code": 404, "message": f"no verb {verb}", "status": "NOT_FOUND"}}
