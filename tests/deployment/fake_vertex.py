"""A loopback stand-in for the Vertex AI REST API: just enough of models, endpoints and operations.

It keeps real state (endpoints, deployed models, traffic splits), answers every
long-running operation as already done, and records each request, so tests can
assert what the real aiplatform library sent.
"""
from __future__ import annotations

import itertools
import re

from tests.support.loopback import LoopbackJsonServer

TYPE = "type.googleapis.com/google.cloud.aiplatform.v1."


class FakeVertex(LoopbackJsonServer):
    """State and the HTTP server; ``.url`` is the api_endpoint to give aiplatform.init."""

    def __init__(self, project: str = "proj", location: str = "us-central1"):
        super().__init__()
        self.parent = f"projects/{project}/locations/{location}"
        self.models: dict[str, dict] = {}
        self.endpoints: dict[str, dict] = {}
        self.fail_predict_for: set[str] = set()  # model resource names whose replicas answer 500
        self.fail_deploy_for: set[str] = set()  # model resource names whose deployModel operation fails
        self._ids = itertools.count(1001)

    def add_model(self, display_name: str = "penguins") -> str:
        name = f"{self.parent}/models/{next(self._ids)}"
        self.models[name] = {"name": name, "displayName": display_name,
                             "supportedDeploymentResourcesTypes": ["DEDICATED_RESOURCES"]}
        return name

    def _operation(self, response_type: str, response: dict) -> dict:
        return {"name": f"{self.parent}/operations/{next(self._ids)}", "done": True,
                "response": {"@type": TYPE + response_type, **response}}

    def route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict]:
        path = path.removeprefix("/v1/")
        if method == "POST" and path == f"{self.parent}/models:upload":
            name = self.add_model(body["model"].get("displayName", "model"))
            self.models[name].update(body["model"], name=name)
            return 200, self._operation("UploadModelResponse", {"model": name})
        if method == "GET" and path in self.models:
            return 200, self.models[path]
        if method == "GET" and path == f"{self.parent}/endpoints":
            wanted = re.search(r'display_name="([^"]*)"', query.get("filter", [""])[0])
            found = [e for e in self.endpoints.values() if not wanted or e["displayName"] == wanted.group(1)]
            return 200, {"endpoints": found}
        if method == "POST" and path == f"{self.parent}/endpoints":
            name = f"{self.parent}/endpoints/{next(self._ids)}"
            self.endpoints[name] = {"name": name, "displayName": body.get("displayName", ""),
                                    "deployedModels": [], "trafficSplit": {}}
            return 200, self._operation("Endpoint", self.endpoints[name])
        if method == "GET" and path in self.endpoints:
            return 200, self.endpoints[path]
        if method == "PATCH" and path in self.endpoints:
            if "trafficSplit" in query.get("updateMask", [""])[0] or "traffic_split" in query.get("updateMask", [""])[0]:
                self.endpoints[path]["trafficSplit"] = body.get("trafficSplit", {})
            return 200, self.endpoints[path]
        target, _, verb = path.rpartition(":")
        if target in self.endpoints:
            return self._endpoint_verb(self.endpoints[target], verb, body)
        if method == "GET" and "/operations/" in path:
            return 200, {"name": path, "done": True}
        return 404, {"error": {"code": 404, "message": f"fake vertex: no route {method} {path}",
                               "status": "NOT_FOUND"}}

    def _endpoint_verb(self, endpoint: dict, verb: str, body: dict) -> tuple[int, dict]:
        if verb == "deployModel" and body["deployedModel"]["model"] in self.fail_deploy_for:
            return 200, {"name": f"{self.parent}/operations/{next(self._ids)}", "done": True,
                         "error": {"code": 8, "message": "The following quota metrics exceed quota limits: cpus"}}
        if verb == "deployModel":
            deployed = dict(body["deployedModel"], id=str(next(self._ids)))
            endpoint["deployedModels"].append(deployed)
            split = {(deployed["id"] if k == "0" else k): v for k, v in body.get("trafficSplit", {}).items()}
            endpoint["trafficSplit"] = {k: v for k, v in split.items() if v}
            return 200, self._operation("DeployModelResponse", {"deployedModel": deployed})
        if verb == "undeployModel":
            endpoint["deployedModels"] = [m for m in endpoint["deployedModels"] if m["id"] != body["deployedModelId"]]
            split = body.get("trafficSplit") or {k: v for k, v in endpoint["trafficSplit"].items()
                                                  if k != body["deployedModelId"]}
            endpoint["trafficSplit"] = {k: v for k, v in split.items() if v}
            return 200, self._operation("UndeployModelResponse", {})
        if verb == "predict":
            live = [m for m in endpoint["deployedModels"] if endpoint["trafficSplit"].get(m["id"])]
            sick = [m for m in live if m["model"] in self.fail_predict_for]
            if sick:
                return 500, {"error": {"code": 500, "message": "replica crashed", "status": "INTERNAL"}}
            return 200, {"predictions": ["Adelie"] * len(body.get("instances", [])),
                         "deployedModelId": live[0]["id"] if live else ""}
        return 404, {"error": {"code": 404, "message": f"fake vertex: no verb {verb}", "status": "NOT_FOUND"}}
