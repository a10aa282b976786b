"""Packaging for kfp-mlops.

The one installed top-level name is ``kfp_mlops``. The repository's top-level
folders ``components/`` and ``pipelines/`` are reached through the links
``kfp_mlops/components`` and ``kfp_mlops/pipelines``, so the import names match
folders that static tools resolve, and never collide with a user's own
``components`` folder.
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent


CORE = [
    # kfp 2.17.3 fails to install here (certifi pin); 2.17.0 is measured.
    "kfp==2.17.0",
    "kfp-kubernetes==2.17.0",
    # TFX's schema/statistics/anomalies protos; protobuf 6 is fine.
    "tensorflow-metadata==1.21.0",
    "scikit-learn>=1.5",
    "scipy>=1.11",
    "numpy>=1.26",
    # kserve 0.21 needs pandas<3; keep one pandas across all extras.
    "pandas>=2.1,<3",
    "pyarrow>=15",
    "palmerpenguins==0.1.6",
    "filelock>=3.12",
    "pyyaml>=6",
    "joblib>=1.3",
    # scikit-learn models are saved with skops (no pickle); types are loaded from an allow-list.
    "skops>=0.16,<0.17",
    # kfp-mlops ui: reports are sanitized (nh3) and Markdown rendered with raw HTML off (markdown-it-py).
    "nh3>=0.2.14,<1",
    "markdown-it-py>=3,<5",
    # The embedded engine (ingestion, split, statistics out of core) and the portable query layer
    # that renders the same queries for BigQuery; fsspec resolves gs:// and s3:// sources.
    "duckdb>=2.0,<3",
    "sqlglot>=30,<31",
    "fsspec>=2024.6",
    # ONNX: trainers export and check, serving/batch/infra score with onnxruntime (protobuf 6, numpy 2).
    "onnx>=1.17,<1.24",
    "onnxruntime>=1.20,<1.33",
    "skl2onnx>=1.18,<1.21",
    # thread pools sized to the container's CPU (also a scikit-learn dependency)
    "threadpoolctl>=3.5",
    # Hyperparameter search (the training pipeline's tuning step, `kfp-mlops tune`).
    "optuna>=5,<6",
    # The project file (kfp-mlops plan/apply/status) is checked against the JSON Schema the package ships;
    # croniter reads its schedules (the next run in `kfp-mlops status`).
    "jsonschema>=4.18,<5",
    "croniter>=6,<8",
]
EXTRAS = {
    "tf": ["tensorflow-cpu==2.21.0"],
    "gpu": ["tensorflow[and-cuda]==2.21.0"],
    # Google Cloud Pipeline Components 2.22 needs aiplatform<2; both resolve in one environment,
    # and our Vertex code is tested with aiplatform 1.165.
    # google-cloud-bigquery reads bq:// sources and runs the split's query jobs; 3.47 is what
    # aiplatform 1.165 resolves to, and the version tested on loopback. gcsfs reads gs:// sources.
    "gcp": ["google-cloud-aiplatform>=1.165,<2", "google-cloud-pipeline-components==2.22.0",
            "google-cloud-bigquery>=3.47,<4", "gcsfs>=2024.6"],
    # s3:// sources (S3, MinIO on open-source Kubeflow)
    "s3": ["s3fs>=2024.6"],
    "serve": ["kserve==0.21.0"],
    # The MLflow registry backend's client. The full mlflow package (the server) pins pyarrow<26:
    # the tests run the server from its own venv (`make mlflow-server`).
    "mlflow": ["mlflow-skinny>=3.17,<4"],
}
EXTRAS["dev"] = EXTRAS["tf"] + EXTRAS["gcp"] + EXTRAS["serve"] + EXTRAS["mlflow"] + EXTRAS["s3"] + [
    "pytest>=8",
    # the gates `make lint` runs (pinned: a new rule or check must not fail CI by itself)
    "ruff==0.17.6",
    "mypy==2.4.1",
    "pytest-timeout>=2.3",
    "pytest-xdist>=3.5",
    "nbclient>=0.10",
    "nbformat>=5.10",
    "ipykernel>=6.29",
    "psutil>=5.9",
    # clients nobody here wrote, for the endpoint and report tests
    "tritonclient[http]>=2.50,<3",
    "markdown-it-py>=3",
]

setup(
    name="kfp-mlops",
    version=re.search(r'__version__ = "([^"]+)"', (ROOT / "kfp_mlops" / "__init__.py").read_text()).group(1),
    description="Reusable Kubeflow Pipelines v2 components for MLOps level 2",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.12",
    # Only ``kfp_mlops`` is installed; the explicit mapping keeps an editable
    # install to that one name (no path entry that would expose the repository
    # root's ``components``, ``pipelines`` or ``tests`` as top-level modules).
    package_dir={"kfp_mlops": "kfp_mlops"},
    packages=find_packages(include=["kfp_mlops", "kfp_mlops.*"]),
    package_data={"kfp_mlops.components": ["*/*.yaml"],
                  "kfp_mlops.pipelines": ["project/*.json", "project/examples/*.yaml"]},
    install_requires=CORE,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["kfp-mlops=kfp_mlops.pipelines.cli.main:main"]},
)
