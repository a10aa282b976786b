"""The serving runtime: the KServe model server (V1, V2 and Vertex routes), request guards, micro-batching,
big-request offload, and infra validation (the candidate served on loopback before promotion).

The deploy clients that put a model behind an endpoint (local, Vertex AI, KServe) live in ``deployment/``.
"""
