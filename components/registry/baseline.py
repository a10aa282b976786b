"""The training baseline a registered version carries: its schema and training statistics.

At registration the model directory is stored with a ``baseline/`` folder
holding ``schema.pbtxt`` (with its TRAINING and SERVING environments) and
``statistics.pb`` (of the training split). The feature contract
(``feature_contract.json``, already in the model directory) holds the label and
the features. The registered sha256 covers all of it, so a loaded baseline is
the one the version was trained with. Batch prediction and monitoring check new
rows against it, with no training CSV and no label on the command line.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from kfp_mlops.components.core.errors import InputError

logger = logging.getLogger(__name__)

BASELINE_DIR = "baseline"
SCHEMA_FILE = "schema.pbtxt"
STATISTICS_FILE = "statistics.pb"


def with_baseline(model_dir: str | os.PathLike, staging_dir: str | os.PathLike,
                  schema_path: str | os.PathLike, statistics_path: str | os.PathLike) -> Path:
    """Copies ``model_dir`` to ``staging_dir`` and adds the ``baseline/`` folder; returns the copy.

    The trained model's manifest is verified first; the copy then gets a new manifest over
    the model files and the baseline, signed with the same key, so the baseline is as
    protected as the model (a tampered schema could switch drift checks off).

    Raises:
        InputError: If the schema or statistics file is missing.
        ChecksumError: If the trained model fails verification.
    """
    from kfp_mlops.components.core.model_io import verify_model_dir, write_manifest

    for path in (schema_path, statistics_path):
        if not Path(path).is_file():
            raise InputError(f"training baseline file not found: {path}")
    verify_model_dir(model_dir)
    target = Path(staging_dir)
    shutil.copytree(model_dir, target)
    (target / BASELINE_DIR).mkdir(exist_ok=True)
    shutil.copyfile(schema_path, target / BASELINE_DIR / SCHEMA_FILE)
    shutil.copyfile(statistics_path, target / BASELINE_DIR / STATISTICS_FILE)
    write_manifest(target)
    return target


def export_baseline(registry_uri: str, model_name: str, version: str, statistics_path: str | os.PathLike,
                    schema_path: str | os.PathLike, label: str = "", drift_threshold: float = -1.0) -> str:
    """Writes a registered version's training statistics and schema; returns its label.

    The version's files are checked against their sha256 first. The schema keeps
    its environments; one with none gets TRAINING and SERVING, with the label
    out of SERVING (a label is never expected in rows to score).

    Args:
        registry_uri: The model registry.
        model_name: The registered model.
        version: A version or alias (``champion``).
        statistics_path: Where the training statistics go.
        schema_path: Where the schema goes.
        label: Overrides the contract's label when given.
        drift_threshold: When >= 0, the drift and skew threshold of every feature.

    Raises:
        InputError: If the version carries no baseline (registered before baselines were stored).
    """
    from kfp_mlops.components.core.model_io import load_contract
    from kfp_mlops.components.core.schema_io import (
        SERVING,
        TRAINING,
        read_schema,
        set_thresholds,
        write_schema,
    )
    from kfp_mlops.components.registry import open_registry

    registry = open_registry(registry_uri)
    registered = registry.verify(model_name, version)
    folder = Path(registry.local_dir(registered)) / BASELINE_DIR
    if not (folder / SCHEMA_FILE).is_file() or not (folder / STATISTICS_FILE).is_file():
        raise InputError(f"{model_name} {registered.version} carries no training baseline (it was registered "
                         "before baselines were stored): give the training data with --training-data")
    label = label or load_contract(registry.local_dir(registered)).label
    schema = read_schema(folder / SCHEMA_FILE)
    if not schema.default_environment:
        schema.default_environment.extend([TRAINING, SERVING])
        for feature in schema.feature:
            if feature.name == label and SERVING not in feature.not_in_environment:
                feature.not_in_environment.append(SERVING)
    if drift_threshold >= 0:
        set_thresholds(schema, drift_threshold)
    write_schema(schema, schema_path)
    Path(statistics_path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / STATISTICS_FILE, statistics_path)
    logger.info(f"{model_name} {registered.version}: schema of {len(schema.feature)} features, "
          f"label {label!r}")
    return label


def registered_label(registry_uri: str, model_name: str, version: str = "champion") -> str:
    """The label of a registered version, from its feature contract.

    Raises:
        InputError: If the model or version is not in the registry.
    """
    from kfp_mlops.components.core.model_io import load_contract
    from kfp_mlops.components.registry import open_registry

    registry = open_registry(registry_uri)
    return load_contract(registry.local_dir(registry.get(model_name, version))).label
