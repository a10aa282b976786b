"""Deployment: the local KServe endpoint, infra validation, Vertex AI endpoints and KServe manifests."""
