"""The model directory contract shared by training, evaluation, registry and serving.

A model artifact is a directory holding:

- ``feature_contract.json``: features (name, dtype, kind), label, task, classes
  and the framework;
- ``model.skops`` for scikit-learn (a fitted ``sklearn.pipeline.Pipeline`` with
  preprocessing inside, so it scores raw rows, saved with skops; older trainers
  wrote the pickle ``model.joblib``), or ``model.keras`` (and ``saved_model/``) for Keras;
- ``model_manifest.json``: every other file's sha256, signed when a key is set
  (:mod:`kfp_mlops.components.core.manifest`).

:func:`load_model` is the one loader: it verifies the directory (manifest,
signature, and the recorded sha256 when given) BEFORE it deserializes anything,
then returns a :class:`Predictor` that scores raw pandas rows the same way
whatever the framework.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kfp_mlops.components.core.errors import ChecksumError, InputError
from kfp_mlops.components.core.manifest import (
    MANIFEST_FILE,
    Verification,
    read_verified,
    verify_model_dir,
    write_manifest,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

logger = logging.getLogger(__name__)

CONTRACT_FILE = "feature_contract.json"
SKOPS_FILE = "model.skops"
SKLEARN_FILE = "model.joblib"  # a pickle, written by older trainers; loaded only after verification
KERAS_FILE = "model.keras"


@dataclass
class Feature:
    """One input column of a model."""

    name: str
    dtype: str  # "float" | "int" | "bool" | "date" | "string"
    kind: str  # "numeric" | "categorical"
    time_format: str = ""  # "date" only: the strptime format, e.g. "%Y-%m-%d"


@dataclass
class FeatureContract:
    """What a model takes and returns."""

    features: list[Feature]
    label: str
    task: str  # "classification" | "regression"
    framework: str  # "sklearn" | "keras"
    classes: list[Any] = field(default_factory=list)
    # For explanations (:mod:`kfp_mlops.components.core.explain`): the training baseline per
    # feature (mean/median/mode) and the training rows' mean |attribution| per feature.
    baseline: dict[str, Any] = field(default_factory=dict)
    attribution_profile: dict[str, float] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        """Names of the input columns, in order."""
        return [f.name for f in self.features]

    def to_json(self) -> str:
        """Serializes the contract."""
        return json.dumps(asdict(self), indent=2, default=str)

    @classmethod
    def from_json(cls, text: str) -> FeatureContract:
        """Parses a contract written by :meth:`to_json`."""
        data = json.loads(text)
        data["features"] = [Feature(**f) for f in data["features"]]
        return cls(**data)

    def check_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Returns the model's input columns of ``frame``, in order.

        Raises:
            InputError: naming the missing columns.
        """
        self.require_columns(frame)
        return frame[self.feature_names]

    def require_columns(self, frame: pd.DataFrame) -> None:
        """Checks that ``frame`` holds every input column, without copying it.

        Raises:
            InputError: naming the missing columns.
        """
        columns = frame.columns
        missing = [name for name in self.feature_names if name not in columns]
        if missing:
            raise InputError(f"input is missing feature column(s): {', '.join(missing)}")


@dataclass
class TrainedModel:
    """What a trainer returns: the contract it saved and metadata for the artifact."""

    contract: FeatureContract
    metadata: dict


def save_contract(model_dir: str | os.PathLike, contract: FeatureContract) -> None:
    """Writes ``feature_contract.json`` into ``model_dir``."""
    path = Path(model_dir)
    path.mkdir(parents=True, exist_ok=True)
    (path / CONTRACT_FILE).write_text(contract.to_json())


def load_contract(model_dir: str | os.PathLike) -> FeatureContract:
    """Reads the feature contract of a model directory.

    Raises:
        InputError: If the directory holds no contract.
    """
    path = Path(model_dir) / CONTRACT_FILE
    if not path.is_file():
        raise InputError(f"{model_dir} is not a kfp-mlops model directory: no {CONTRACT_FILE}")
    return FeatureContract.from_json(path.read_text())


class Predictor:
    """Scores raw rows with a loaded model, whatever its framework.

    ``model`` is the native model, or an :class:`~.onnx_io.OnnxModel` when the
    directory's ONNX export passed its check (:attr:`runtime` says which).
    """

    def __init__(self, model: Any, contract: FeatureContract):
        self.model = model
        self.contract = contract

    @property
    def runtime(self) -> str:
        """``onnx`` when scoring through onnxruntime, else the framework (``sklearn``, ``keras``)."""
        return "onnx" if type(self.model).__name__ == "OnnxModel" else self.contract.framework

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities, shape (rows, classes), or None for regression."""
        import numpy as np
        if self.contract.task != "classification":
            return None
        if self.runtime == "onnx":
            self.contract.require_columns(frame)
            return self.model.predict_proba(frame, self.contract)
        inputs = self.contract.check_frame(frame)
        if self.contract.framework == "keras":
            from kfp_mlops.components.core import keras_io

            return keras_io.predict_proba(self.model, inputs, self.contract)
        return np.asarray(self.model.predict_proba(inputs))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted labels (classification) or values (regression)."""
        import numpy as np
        if self.runtime == "onnx":
            self.contract.require_columns(frame)
            return self.model.predict(frame, self.contract)
        inputs = self.contract.check_frame(frame)
        if self.contract.framework == "keras":
            from kfp_mlops.components.core import keras_io

            return keras_io.predict(self.model, inputs, self.contract)
        return np.asarray(self.model.predict(inputs))


def save_sklearn_model(model: Any, model_dir: str | os.PathLike, contract: FeatureContract) -> None:
    """Writes a scikit-learn model directory: ``model.skops``, the contract, then the manifest
    (signed when a key is set).

    Raises:
        ChecksumError: If the model holds a type that loading would not trust.
    """
    from kfp_mlops.components.core import sklearn_io

    path = Path(model_dir)
    path.mkdir(parents=True, exist_ok=True)
    sklearn_io.save(model, path / SKOPS_FILE)
    save_contract(path, contract)
    write_manifest(path)


def load_model(model_dir: str | os.PathLike, expected_sha256: str = "", native: bool = False) -> Predictor:
    """Verifies a model directory written by one of our trainers, then loads it.

    Nothing is deserialized before :func:`~kfp_mlops.components.core.manifest.verify_model_dir`
    passes: the files match the manifest, the manifest's signature matches the
    key (when ``KFP_MLOPS_SIGNING_KEY``/``_FILE`` is set), and the directory
    matches ``expected_sha256`` (a registry or deployment record) when given.
    A directory whose ONNX export passed its check is scored with onnxruntime
    (:mod:`~kfp_mlops.components.core.onnx_io`) unless ``native`` is set
    or ``KFP_MLOPS_RUNTIME=native``.

    Raises:
        ChecksumError: One line naming what failed verification (an ``InputError``).
        InputError: If the directory is not a model directory.
    """
    verification = verify_model_dir(model_dir, expected_sha256)
    contract = load_contract(model_dir)
    path = Path(model_dir)
    if native:
        return _load_native(path, contract, verification)
    from kfp_mlops.components.core import onnx_io

    usable, why = onnx_io.use_onnx(path)
    if usable:
        check = json.loads(read_verified(path, onnx_io.CHECK_FILE, verification))
        logger.info("%s: scoring with onnxruntime (%s)", path, why)
        return Predictor(onnx_io.OnnxModel(read_verified(path, onnx_io.ONNX_FILE, verification), check), contract)
    logger.info("%s: scoring with %s (%s)", path, contract.framework, why)
    return _load_native(path, contract, verification)


def _load_native(path: Path, contract: FeatureContract, verification: Verification) -> Predictor:
    model_dir = path
    if contract.framework == "sklearn":
        from kfp_mlops.components.core import sklearn_io

        if (path / SKOPS_FILE).is_file():
            data = read_verified(path, SKOPS_FILE, verification)
            return Predictor(sklearn_io.loads(data, str(path / SKOPS_FILE)), contract)
        if (path / SKLEARN_FILE).is_file():
            if not (verification.signed or verification.legacy):
                # Trainers never write a pickle under a manifest: without a key, whoever wrote it could have
                # rewritten the manifest too, and unpickling runs their code.
                raise ChecksumError(f"{path / SKLEARN_FILE} is a pickle under an unsigned {MANIFEST_FILE}; refusing "
                                    "to unpickle it (set KFP_MLOPS_SIGNING_KEY, "
                                    "or retrain: trainers write model.skops)")
            return Predictor(sklearn_io.loads_joblib(read_verified(path, SKLEARN_FILE, verification)), contract)
        raise InputError(f"{model_dir}: no {SKOPS_FILE} (or {SKLEARN_FILE}) for an sklearn model")
    if contract.framework == "keras":
        from kfp_mlops.components.core import keras_io

        return Predictor(keras_io.load(path / KERAS_FILE), contract)
    raise InputError(f"{model_dir}: unknown framework {contract.framework!r} in {CONTRACT_FILE}")


def breaking_changes(champion: Any, challenger: Any) -> list[str]:
    """How the challenger's inputs differ from the champion's, per the feature contracts.

    Args:
        champion: The serving model's :class:`~kfp_mlops.components.core.model_io.FeatureContract`.
        challenger: The new model's contract.

    Returns:
        One phrase per difference (a new or removed feature, a changed type, label or task); empty when none.
    """
    old = {f.name: f for f in champion.features}
    new = {f.name: f for f in challenger.features}
    changes = [f"new feature {name!r}" for name in new if name not in old]
    changes += [f"removed feature {name!r}" for name in old if name not in new]
    widening = {("int", "float")}  # a float input accepts every int the champion's callers send
    changes += [f"feature {name!r} changed from {old[name].dtype} {old[name].kind} "
                f"to {new[name].dtype} {new[name].kind}"
                for name in new
                if name in old and (old[name].dtype, old[name].kind) != (new[name].dtype, new[name].kind)
                and not (old[name].kind == new[name].kind and (old[name].dtype, new[name].dtype) in widening)]
    if champion.label != challenger.label:
        changes.append(f"label changed from {champion.label!r} to {challenger.label!r}")
    if champion.task != challenger.task:
        changes.append(f"task changed from {champion.task} to {challenger.task}")
    return changes

