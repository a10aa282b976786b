"""The kubernetes client that in-cluster steps use (KServe deployment, Katib tuning)."""
from __future__ import annotations

from typing import Any


def kubernetes_api_client(host: str = "") -> Any:
    """A kubernetes ApiClient: for ``host`` when given, else in-cluster, else ``~/.kube/config``."""
    from kubernetes import client, config

    if host:
        configuration = client.Configuration()
        configuration.host = host
        return client.ApiClient(configuration)
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()
