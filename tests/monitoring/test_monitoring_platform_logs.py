"""Serving logs where the platforms put them: KServe's payload logger (CloudEvents) and Vertex AI's BigQuery table.

The KServe events are built by the CloudEvents SDK with the attributes KServe's logger sets, and
sent over HTTP to the sink on loopback; the BigQuery table is read through the real
google-cloud-bigquery client against a loopback BigQuery API.
"""
import json
import time
import uuid
from datetime import UTC, datetime

import pandas as pd
import pytest
import requests
from cloudevents.http import CloudEvent, to_binary, to_structured

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.monitoring.kserve_sink import (
    REQUEST_TYPE,
    RESPONSE_TYPE,
    PayloadSink,
    logger_url,
    make_server,
    sink_manifest,
)
from kfp_mlops.components.monitoring.serving_data import collect_serving_data, read_serving_rows
from kfp_mlops.components.monitoring.serving_log import read_serving_log
from tests.support.loopback import LoopbackJsonServer

ROWS = [{"bill_length_mm": 39.1, "island": "Torgersen"}, {"bill_length_mm": 46.5, "island": "Biscoe"}]


def _event(kind, event_id, data, endpoint="default"):
    """An event with the attributes KServe's payload logger sets."""
    return CloudEvent({
        "type": kind, "source": "http://localhost:9081/", "id": event_id, "specversion": "1.0",
        "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json",
        "inferenceservicename": "penguins", "namespace": "ml", "component": "predictor", "endpoint": endpoint,
    }, data)


@pytest.fixture
def sink_server(tmp_path):
    import threading

    sink = PayloadSink(str(tmp_path / "serving-log"), flush_rows=1000, flush_seconds=3600, pair_seconds=3600)
    server = make_server(sink, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield sink, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _post(url, event, mode=to_binary):
    headers, body = mode(event)
    return requests.post(url, headers=headers, data=body, timeout=10)


def test_v1_and_v2_request_response_pairs_become_served_rows(sink_server, tmp_path):
    sink, url = sink_server
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    # Responses may arrive first; structured and binary modes are both accepted.
    assert _post(url, _event(RESPONSE_TYPE, first, {"predictions": ["Adelie", "Gentoo"]})).status_code == 202
    assert _post(url, _event(REQUEST_TYPE, first, {"instances": ROWS}), to_structured).status_code == 202
    v2_inputs = [{"name": "bill_length_mm", "shape": [1], "datatype": "FP64", "data": [50.0]},
                 {"name": "island", "shape": [1], "datatype": "BYTES", "data": ["Dream"]}]
    assert _post(url, _event(REQUEST_TYPE, second, {"inputs": v2_inputs}, endpoint="canary")).status_code == 202
    assert _post(url, _event(RESPONSE_TYPE, second, {"model_name": "penguins", "model_version": "v3",
                                                     "outputs": [{"name": "predict", "data": ["Chinstrap"]}]}),
                 ).status_code == 202
    sink.flush()
    frame = read_serving_log(tmp_path / "serving-log")
    assert list(frame["island"]) == ["Torgersen", "Biscoe", "Dream"]
    assert list(frame["prediction"]) == ["Adelie", "Gentoo", "Chinstrap"]
    assert list(frame["model_version"]) == ["default", "default", "v3"]  # the V2 answer names its version
    assert set(frame["model"]) == {"penguins"} and list(frame["request_id"]) == [first, first, second]
    rows = collect_serving_data(tmp_path / "serving-log", tmp_path / "rows.csv")
    assert rows == 3 and list(pd.read_csv(tmp_path / "rows.csv").columns) == ["bill_length_mm", "island"]


def test_bad_events_get_400_and_an_unpaired_request_keeps_its_row(sink_server, tmp_path):
    sink, url = sink_server
    assert requests.post(url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=10).status_code == 400
    other = CloudEvent({"type": "com.example.other", "source": "x", "id": "1"}, {"a": 1})
    reply = _post(url, other)
    assert reply.status_code == 400 and "unexpected CloudEvent type" in reply.json()["status"]
    assert _post(url, _event(REQUEST_TYPE, "lonely", {"instances": ROWS[:1]})).status_code == 202
    assert requests.get(url + "/healthz", timeout=10).status_code == 200
    sink.flush(pair_expired=True)
    frame = read_serving_log(tmp_path / "serving-log")
    assert list(frame["request_id"]) == ["lonely"] and frame["prediction"].isna().all()


def test_the_sink_manifest_is_what_an_inference_service_logger_points_at():
    deployment, service = sink_manifest("payload-sink", "ml", "gs://b/serving-log", "reg/kfp-mlops-core:1")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][-1] == "kfp_mlops.components.monitoring.kserve_sink"
    assert container["args"] == ["--output", "gs://b/serving-log", "--port", "8080"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert logger_url("payload-sink", "ml") == "http://payload-sink.ml.svc.cluster.local"


def test_the_kserve_deploy_step_points_the_logger_at_the_sink():
    from kfp_mlops.components.deployment.kserve_manifest import build_inference_service, to_dict

    service = to_dict(build_inference_service("penguins", "ml", "gs://b/m", serving_image="img",
                                              logger_url="http://payload-sink.ml.svc.cluster.local"))
    assert service["spec"]["predictor"]["logger"] == {"mode": "all", "url": "http://payload-sink.ml.svc.cluster.local"}
    assert "logger" not in to_dict(build_inference_service("penguins", "ml", "gs://b/m", serving_image="img"))[
        "spec"]["predictor"]


class FakeBigQuery(LoopbackJsonServer):
    """jobs.query of the BigQuery API, answering a request-response logging table's rows."""

    def __init__(self, rows):
        super().__init__()
        self.rows = rows

    def route(self, method, path, query, body):
        fields = [("logging_time", "TIMESTAMP", "NULLABLE"), ("request_id", "STRING", "NULLABLE"),
                  ("deployed_model_id", "STRING", "NULLABLE"), ("endpoint", "STRING", "NULLABLE"),
                  ("request_payload", "STRING", "REPEATED"), ("response_payload", "STRING", "REPEATED")]
        since = {p["name"]: p["parameterValue"]["value"] for p in body.get("queryParameters", [])}["since"]
        rows = [r for r in self.rows if since is None or r[0] >= pd.Timestamp(since).timestamp()]
        return 200, {
            "kind": "bigquery#queryResponse", "jobComplete": True, "totalRows": str(len(rows)),
            "jobReference": {"projectId": "proj-1", "jobId": "job-1", "location": "US"},
            "schema": {"fields": [{"name": n, "type": t, "mode": m} for n, t, m in fields]},
            "rows": [{"f": [{"v": str(int(ts * 1e6))}, {"v": rid}, {"v": "dm-7"}, {"v": "projects/p/endpoints/1"},
                            {"v": [{"v": json.dumps(i)} for i in instances]},
                            {"v": [{"v": json.dumps(p)} for p in predictions]}]}
                     for ts, rid, instances, predictions in rows],
        }


@pytest.fixture
def bigquery_client():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    now = time.time()
    with FakeBigQuery([(now - 7200, "1", ROWS, ["Adelie", "Gentoo"]),
                       (now - 60, "2", [{"instances": [ROWS[1]]}], [{"predictions": ["Gentoo"]}])]) as fake:
        yield fake, bigquery.Client(project="proj-1", credentials=AnonymousCredentials(),
                                    client_options={"api_endpoint": fake.url})


def test_vertex_request_response_logging_table_reads_as_rows(bigquery_client, monkeypatch):
    from kfp_mlops.components.monitoring import vertex_logging

    fake, client = bigquery_client
    uri = "bq://proj-1.logging_penguins_1.request_response_logging"
    frame = vertex_logging.read_request_response_log(uri, client=client)
    assert list(frame["island"]) == ["Torgersen", "Biscoe", "Biscoe"]
    assert list(frame["prediction"]) == ["Adelie", "Gentoo", "Gentoo"]
    assert set(frame["model_version"]) == {"dm-7"}
    [sent] = fake.calls("POST", r"/bigquery/v2/projects/proj-1/queries$")[-1:]
    assert "FROM `proj-1.logging_penguins_1.request_response_logging`" in sent["query"]
    assert sent["parameterMode"] == "NAMED" and sent["useLegacySql"] is False
    since = pd.Timestamp(time.time() - 3600, unit="s", tz="UTC")
    window = vertex_logging.read_request_response_log(uri, since=since.isoformat(), client=client)
    assert list(window["request_id"]) == ["2"]  # the window is applied by the query
    sent = fake.calls("POST", r"/queries$")[-1]
    assert [p["parameterType"]["type"] for p in sent["queryParameters"]] == ["TIMESTAMP", "TIMESTAMP"]
    # collect_serving_data dispatches bq:// URIs to the same reader
    monkeypatch.setattr("google.cloud.bigquery.Client", lambda project: client)
    assert list(read_serving_rows(uri).columns) == ["bill_length_mm", "island"]


@pytest.mark.parametrize("uri", ["bq://proj-1.only_dataset", "bq://Bad_Project.d.t", "bigquery://p.d.t"])
def test_a_bad_table_uri_is_one_line(uri):
    from kfp_mlops.components.monitoring.vertex_logging import parse_table_uri

    with pytest.raises(InputError, match="expected bq://PROJECT.DATASET.TABLE"):
        parse_table_uri(uri)


def test_a_csv_has_no_serving_times(tmp_path):
    (tmp_path / "rows.csv").write_text("x\n1\n")
    with pytest.raises(InputError, match="a CSV has no serving times"):
        read_serving_rows(tmp_path / "rows.csv", since="2026-01-01")
