"""The scikit-learn trainer: schema-driven preprocessing, one of three estimators, seeded.

The saved model is a fitted ``sklearn.pipeline.Pipeline`` that starts from raw
rows: a :class:`FrameCaster` casts each column to the type the schema declares,
then numeric and categorical columns are preprocessed inside the pipeline, so
serving needs no separate transform step.
"""
from __future__ import annotations

import inspect
import logging
import os
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from kfp_mlops.components.core import features as F
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.explain import model_profile
from kfp_mlops.components.core.model_io import (  # noqa: F401 - TrainedModel re-exported
    Feature,
    FeatureContract,
    Predictor,
    TrainedModel,
    save_sklearn_model,
)
from kfp_mlops.components.core.schema_io import read_schema
from kfp_mlops.components.core.threads import thread_budget

logger = logging.getLogger(__name__)

ESTIMATORS = ("linear", "random_forest", "hist_gradient_boosting")
MISSING = "__missing__"
# HistGradientBoosting takes at most 255 bins per categorical feature; rarer categories are grouped.
MAX_BOOSTED_CATEGORIES = 250
# The training score is computed on at most this many training rows (a seeded sample), not the whole set.
TRAIN_SCORE_ROWS = 10_000


class FrameCaster(BaseEstimator, TransformerMixin):
    """Selects the contract's columns and casts them to the schema's types."""

    def __init__(self, features: list[dict] | None = None):
        self.features = features

    def fit(self, frame: pd.DataFrame, y: Any = None) -> FrameCaster:  # noqa: D102 - sklearn API
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:  # noqa: D102 - sklearn API
        if self.features is None:  # None only as sklearn's default, before the trainer sets the contract's
            raise ValueError("FrameCaster has no features to cast to")
        return F.cast_frame(frame, [Feature(**f) for f in self.features])


def _estimator_class(estimator: str, task: str) -> type:
    from sklearn import ensemble, linear_model

    classes = {
        ("linear", F.CLASSIFICATION): linear_model.LogisticRegression,
        ("linear", F.REGRESSION): linear_model.Ridge,
        ("random_forest", F.CLASSIFICATION): ensemble.RandomForestClassifier,
        ("random_forest", F.REGRESSION): ensemble.RandomForestRegressor,
        ("hist_gradient_boosting", F.CLASSIFICATION): ensemble.HistGradientBoostingClassifier,
        ("hist_gradient_boosting", F.REGRESSION): ensemble.HistGradientBoostingRegressor,
    }
    if estimator not in ESTIMATORS:
        raise InputError(f"unknown estimator {estimator!r}; expected one of: {', '.join(ESTIMATORS)}")
    return classes[(estimator, task)]


def accepted_hyperparameters(estimator: str) -> set[str]:
    """Hyperparameter names that ``estimator`` takes for classification or regression."""
    names: set[str] = set()
    for task in (F.CLASSIFICATION, F.REGRESSION):
        names |= set(inspect.signature(_estimator_class(estimator, task)).parameters)
    return names


def estimator_params(cls: type, hyperparameters: dict, seed: int) -> dict:
    """Checks hyperparameter names against the estimator and restores integer values.

    KFP passes dict parameters through JSON, where ``3`` may come back as
    ``3.0``; an integral float becomes an int where the estimator's default is
    an int or None (``max_depth``, ``max_iter``...), and stays a float where the
    default is a float (``C``, ``learning_rate``, ``max_features=1.0``).

    Raises:
        InputError: Naming an unknown hyperparameter and listing the valid ones.
    """
    defaults = {name: p.default for name, p in inspect.signature(cls).parameters.items()}
    params = {}
    for name, value in (hyperparameters or {}).items():
        if name not in defaults:
            raise InputError(
                f"unknown hyperparameter {name!r} for {cls.__name__}; valid: {', '.join(sorted(defaults))}"
            )
        default = defaults[name]
        is_int_default = default is None or (isinstance(default, int) and not isinstance(default, bool))
        if isinstance(value, float) and value.is_integer() and is_int_default:
            value = int(value)
        params[name] = value
    if "random_state" in defaults and "random_state" not in params:
        params["random_state"] = seed
    if cls.__name__ == "LogisticRegression":
        params.setdefault("max_iter", 1000)
    return params


def build_pipeline(features: list[Feature], estimator: str, task: str, hyperparameters: dict, seed: int,
                   few_categories: bool = False):
    """Builds the unfitted raw-rows-to-prediction pipeline.

    - ``linear``: median imputation and scaling for numbers, one-hot categories.
    - ``random_forest``: median imputation for numbers, one-hot categories.
    - ``hist_gradient_boosting``: numbers as they are (NaN is native), ordinal
      categories marked categorical for the booster. Rare categories are grouped
      to keep at most ``MAX_BOOSTED_CATEGORIES`` per column, unless
      ``few_categories`` says no column has more: then the encoder skips
      counting every value (a Python loop over the rows in scikit-learn).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    cls = _estimator_class(estimator, task)
    params = estimator_params(cls, hyperparameters, seed)
    numeric = [f.name for f in features if f.kind == "numeric"]
    categorical = [f.name for f in features if f.kind == "categorical"]
    if estimator == "hist_gradient_boosting":
        columns = ColumnTransformer(
            [("num", "passthrough", numeric),
             ("cat", OrdinalEncoder(
                handle_unknown="use_encoded_value", unknown_value=np.nan,
                max_categories=None if few_categories else MAX_BOOSTED_CATEGORIES),
              categorical)],
            verbose_feature_names_out=False,
        )
        params.setdefault("categorical_features", [False] * len(numeric) + [True] * len(categorical))
    else:
        number_steps = [SimpleImputer(strategy="median", keep_empty_features=True)]
        if estimator == "linear":
            number_steps.append(StandardScaler())
        columns = ColumnTransformer(
            [("num", make_pipeline(*number_steps), numeric),
             ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value=MISSING),
                                   OneHotEncoder(handle_unknown="ignore")), categorical)],
            verbose_feature_names_out=False,
        )
    caster = FrameCaster([{"name": f.name, "dtype": f.dtype, "kind": f.kind}
                          | ({"time_format": f.time_format} if f.time_format else {}) for f in features])
    return make_pipeline(caster, columns, cls(**params))


def _json_safe(values: dict) -> dict:
    """The hyperparameters as given (numbers, strings, booleans, None), for the model's metadata."""
    return {name: value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
            for name, value in values.items()}


def train_sklearn_model(
    train_path: str | os.PathLike,
    schema_path: str | os.PathLike,
    model_dir: str | os.PathLike,
    label: str,
    estimator: str = "hist_gradient_boosting",
    task: str = "auto",
    hyperparameters: dict | None = None,
    seed: int = 42,
    eval_path: str | os.PathLike | None = None,
    export_onnx: bool = True,
) -> TrainedModel:
    """Trains a scikit-learn model on a CSV and saves a model directory.

    Args:
        train_path: Training rows, CSV with a header.
        schema_path: The ``schema.pbtxt`` that declares the features' types.
        model_dir: Output directory: ``model.skops``, ``feature_contract.json`` and ``model_manifest.json``.
        label: The label column.
        estimator: ``linear`` (LogisticRegression or Ridge), ``random_forest``
            or ``hist_gradient_boosting``.
        task: ``auto``, ``classification`` or ``regression``.
        hyperparameters: Estimator keyword arguments, e.g. ``{"max_depth": 3}``.
        seed: Random seed (the estimator's ``random_state``).
        eval_path: Evaluation rows, CSV: the ONNX export is checked on them
            (without it, on a seeded sample of the training rows).
        export_onnx: Also write ``model.onnx`` when it predicts the same
            (``onnx_check.json`` records the check either way).

    Returns:
        The saved contract and artifact metadata (framework, estimator, task,
        label, classes, rows, training score on at most ``TRAIN_SCORE_ROWS``
        sampled rows, seconds, the ONNX check).

    Raises:
        InputError: For a bad file, schema, label, estimator or hyperparameter.
    """
    from kfp_mlops.components.core.sources import sample_table

    schema = read_schema(schema_path)
    features = F.features_from_schema(schema, label)
    frame, sampling = sample_table(train_path, seed=seed)  # a seeded sample when it outgrows memory
    F.check_columns(frame, features, label, str(train_path))
    label_type = next(f.type for f in schema.feature if f.name == label)
    task = F.resolve_task(task, frame[label], label_type)
    targets = F.label_values(frame[label], task)
    if task == F.CLASSIFICATION and len(np.unique(targets)) < 2:
        raise InputError(f"label column {label!r} in {train_path} has a single class; classification needs two or more")
    few_categories = all(frame[f.name].nunique(dropna=False) <= MAX_BOOSTED_CATEGORIES
                         for f in features if f.kind == "categorical")
    model = build_pipeline(features, estimator, task, hyperparameters or {}, seed, few_categories)
    with thread_budget() as threads:
        logger.info(f"{estimator} {task} on {len(frame)} rows, {len(features)} features, "
              f"{threads} thread(s)")
        start = time.perf_counter()
        model.fit(frame, targets)
        seconds = time.perf_counter() - start
        scored = sample_rows(frame, TRAIN_SCORE_ROWS, seed)
        score = float(model.score(scored, targets[frame.index.get_indexer(scored.index)]))
    classes = np.asarray(model.classes_).tolist() if task == F.CLASSIFICATION else []
    contract = FeatureContract(features=features, label=label, task=task, framework="sklearn", classes=classes)
    contract.baseline, contract.attribution_profile = model_profile(Predictor(model, contract), frame, seed)
    save_sklearn_model(model, model_dir, contract)  # model.skops, contract, then the manifest
    logger.info(f"trained in {seconds:.2f}s, training score {score:.4f} on {len(scored)} rows")
    metadata = {
        "framework": "sklearn", "estimator": estimator, "task": task, "label": label,
        "classes": classes, "rows": int(len(frame)), "features": [f.name for f in features],
        "train_score": score, "train_score_rows": int(len(scored)), "train_seconds": round(seconds, 3),
        "seed": int(seed), "threads": threads,
        **sampling.as_metadata(),
        "hyperparameters": _json_safe({name: value for name, value in estimator_params(
            _estimator_class(estimator, task), hyperparameters or {}, seed).items()
            if name in (hyperparameters or {})}),
    }
    if export_onnx:
        from kfp_mlops.components.core.model_io import write_manifest
        from kfp_mlops.components.training.onnx_export import export_onnx as export

        check_rows = _read_eval(eval_path, features, label, seed) if eval_path else sample_rows(frame, 2_000, seed)
        rows_name = "eval rows" if eval_path else "sampled training rows (no eval split given)"
        with thread_budget(threads):  # the check scores the native model too
            metadata.update(export(Predictor(model, contract), model_dir, check_rows, seed, rows_name).summary())
        write_manifest(model_dir)  # again: the ONNX files are part of the model
    return TrainedModel(contract=contract, metadata=metadata)


def sample_rows(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """``frame`` itself when it has at most ``rows`` rows, else a seeded sample of ``rows`` rows."""
    return frame if len(frame) <= rows else frame.sample(rows, random_state=seed)


def _read_eval(path: str | os.PathLike, features: list[Feature], label: str, seed: int) -> pd.DataFrame:
    """The eval rows the ONNX check scores: all of them, or a seeded sample of ``MAX_CHECK_ROWS``."""
    from kfp_mlops.components.core.sources import sample_table
    from kfp_mlops.components.training.onnx_export import MAX_CHECK_ROWS

    frame, _ = sample_table(path, max_rows=MAX_CHECK_ROWS, seed=seed)
    F.check_columns(frame, features, label, str(path))
    return frame
