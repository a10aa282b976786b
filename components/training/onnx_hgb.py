"""A skl2onnx converter for HistGradientBoosting with categorical splits.

skl2onnx 1.20 converts ``HistGradientBoostingClassifier``/``Regressor`` with
numeric thresholds only: a categorical split (``categorical_features``, which
our trainer sets for schema categories) is written as a threshold, and the
export predicts something else. This converter writes each tree to ONNX's
``ai.onnx.ml.TreeEnsemble`` (opset 5), whose ``BRANCH_MEMBER`` mode is the
categorical split: a category in the left set goes left, a missing value goes
where scikit-learn sends it (``missing_go_to_left``). Numeric nodes are
``BRANCH_LEQ`` on ``num_threshold``. The trees' sum plus the baseline goes
through the loss's inverse link (identity, exp, sigmoid or softmax), as in
``predict``/``predict_proba``.

Only the equality check (:mod:`.onnx_export`) decides whether the result is
used; a model this cannot express raises ``NotImplementedError`` and keeps the
native path.
"""
from __future__ import annotations

from typing import Any

import numpy as np

ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 5
BRANCH_LEQ, BRANCH_MEMBER = 0, 6


def _left_categories(bitset: np.ndarray) -> list[float]:
    """Category codes set in one row of scikit-learn's 8 x uint32 bitset."""
    bits = np.unpackbits(bitset.astype("<u4").view(np.uint8), bitorder="little")
    return [float(code) for code in np.flatnonzero(bits)]


def input_layout(model) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """(tree feature index -> input column, tree feature index -> category values) of a fitted model.

    With ``categorical_features``, scikit-learn (1.4+) re-encodes the
    categorical columns with an internal OrdinalEncoder and moves them first;
    the trees' feature indices and category codes are in that layout.
    """
    preprocessor = getattr(model, "_preprocessor", None)
    if preprocessor is None:
        return np.arange(model.n_features_in_), {}
    categorical = np.asarray(model.is_categorical_, bool)
    columns = np.r_[np.flatnonzero(categorical), np.flatnonzero(~categorical)]
    encoder = preprocessor.named_transformers_["encoder"]
    values = {}
    for index, categories in enumerate(encoder.categories_):
        numbers = np.asarray(categories, dtype="float64")
        values[index] = numbers[~np.isnan(numbers)]
    return columns, values


def tree_ensemble_attributes(predictors: list[list], n_targets: int, columns: np.ndarray | None = None,
                             category_values: dict[int, np.ndarray] | None = None) -> dict:
    """``TreeEnsemble`` attributes for ``model._predictors`` (iterations x targets of ``TreePredictor``).

    ``columns`` and ``category_values`` come from :func:`input_layout`: tree
    feature indices become input columns, and category codes the input's values.
    """
    from onnx import numpy_helper

    category_values = category_values or {}

    nodes: dict[str, list[float]] = {key: [] for key in ("featureids", "splits", "modes", "truenodeids", "trueleafs",
                                                         "falsenodeids", "falseleafs", "missing_value_tracks_true")}
    members: list[float] = []
    leaf_targets: list[int] = []
    leaf_weights: list[float] = []
    roots: list[int] = []
    for per_iteration in predictors:
        for target, predictor in enumerate(per_iteration):
            tree, bitsets = predictor.nodes, predictor.raw_left_cat_bitsets
            node_ids: dict[int, int] = {}
            leaf_ids: dict[int, int] = {}
            for index, node in enumerate(tree):  # ids first: children may come after their parent
                if node["is_leaf"]:
                    leaf_ids[index] = len(leaf_targets)
                    leaf_targets.append(target)
                    leaf_weights.append(float(node["value"]))
                else:
                    node_ids[index] = len(nodes["modes"]) + len(node_ids)
            if tree[0]["is_leaf"]:  # a one-leaf tree: a split whose sides are two copies of that leaf
                roots.append(len(nodes["modes"]))
                leaf_targets.append(target)
                leaf_weights.append(float(tree[0]["value"]))
                for key, value in (("featureids", 0), ("splits", 0.0), ("modes", BRANCH_LEQ),
                                   ("truenodeids", leaf_ids[0]), ("trueleafs", 1), ("falsenodeids", leaf_ids[0] + 1),
                                   ("falseleafs", 1), ("missing_value_tracks_true", 1)):
                    nodes[key].append(value)
                continue
            roots.append(node_ids[0])
            for node in tree:
                if node["is_leaf"]:
                    continue
                left, right = int(node["left"]), int(node["right"])
                feature = int(node["feature_idx"])
                nodes["featureids"].append(int(columns[feature]) if columns is not None else feature)
                if node["is_categorical"]:
                    nodes["modes"].append(BRANCH_MEMBER)
                    nodes["splits"].append(0.0)
                    codes = _left_categories(bitsets[node["bitset_idx"]])
                    if feature in category_values:  # internal codes -> the values the input carries
                        known = category_values[feature]
                        codes = [float(known[int(code)]) for code in codes if int(code) < len(known)]
                    members.extend((codes or [-1.0]) + [np.nan])
                else:
                    nodes["modes"].append(BRANCH_LEQ)
                    nodes["splits"].append(float(node["num_threshold"]))
                nodes["truenodeids"].append(leaf_ids[left] if left in leaf_ids else node_ids[left])
                nodes["trueleafs"].append(int(left in leaf_ids))
                nodes["falsenodeids"].append(leaf_ids[right] if right in leaf_ids else node_ids[right])
                nodes["falseleafs"].append(int(right in leaf_ids))
                nodes["missing_value_tracks_true"].append(int(node["missing_go_to_left"]))
    attributes: dict[str, Any] = {f"nodes_{key}": value for key, value in nodes.items()
                                  if key not in ("splits", "modes")}
    attributes["nodes_splits"] = numpy_helper.from_array(np.asarray(nodes["splits"], np.float32))
    attributes["nodes_modes"] = numpy_helper.from_array(np.asarray(nodes["modes"], np.uint8))
    if members:
        attributes["membership_values"] = numpy_helper.from_array(np.asarray(members, np.float32))
    attributes.update(
        tree_roots=roots, leaf_targetids=leaf_targets,
        leaf_weights=numpy_helper.from_array(np.asarray(leaf_weights, np.float32)),
        n_targets=n_targets, aggregate_function=1, post_transform=0,  # SUM, NONE
    )
    return attributes


def _raw_scores(scope, operator, container) -> str:
    """Adds the trees and the baseline; returns the raw scores' name, shape (rows, n_targets)."""
    from onnx import TensorProto

    model = operator.raw_operator
    features = operator.inputs[0].full_name
    if operator.inputs[0].type.to_onnx_type().tensor_type.elem_type != TensorProto.FLOAT:
        cast = scope.get_unique_variable_name("hgb_input")
        container.add_node("Cast", [features], [cast], to=TensorProto.FLOAT,
                           name=scope.get_unique_operator_name("Cast"))
        features = cast
    sums = scope.get_unique_variable_name("hgb_sums")
    # skl2onnx 1.20 converts with ai.onnx.ml at most 3: the node is declared at 3 here, and
    # :func:`raise_ml_opset` lifts the model's import to 5 once the graph is built.
    container.add_node("TreeEnsemble", [features], [sums], op_domain=ML_DOMAIN, op_version=3,
                       name=scope.get_unique_operator_name("TreeEnsemble"),
                       **tree_ensemble_attributes(model._predictors, model.n_trees_per_iteration_,
                                                  *input_layout(model)))
    baseline = scope.get_unique_variable_name("hgb_baseline")
    values = np.asarray(model._baseline_prediction, np.float32).reshape(1, -1)
    container.add_initializer(baseline, TensorProto.FLOAT, list(values.shape), values.ravel().tolist())
    raw = scope.get_unique_variable_name("hgb_raw")
    container.add_node("Add", [sums, baseline], [raw], name=scope.get_unique_operator_name("Add"))
    return raw


def _link(model) -> str:
    return type(model._loss.link).__name__


def convert_regressor(scope, operator, container) -> None:
    """skl2onnx converter for ``HistGradientBoostingRegressor``."""
    link = _link(operator.raw_operator)
    if link not in ("IdentityLink", "LogLink"):
        raise NotImplementedError(f"HistGradientBoostingRegressor with a {link} loss")
    raw = _raw_scores(scope, operator, container)
    container.add_node("Identity" if link == "IdentityLink" else "Exp", [raw], [operator.outputs[0].full_name],
                       name=scope.get_unique_operator_name("Link"))


def convert_classifier(scope, operator, container) -> None:
    """skl2onnx converter for ``HistGradientBoostingClassifier``: label and probabilities."""
    from onnx import TensorProto

    model = operator.raw_operator
    link = _link(model)
    raw = _raw_scores(scope, operator, container)
    probabilities = operator.outputs[1].full_name
    if link == "LogitLink":  # binary: p = sigmoid(raw); [1 - p, p]
        positive, one, negative = (scope.get_unique_variable_name(n) for n in ("hgb_p", "hgb_one", "hgb_q"))
        container.add_node("Sigmoid", [raw], [positive], name=scope.get_unique_operator_name("Sigmoid"))
        container.add_initializer(one, TensorProto.FLOAT, [], [1.0])
        container.add_node("Sub", [one, positive], [negative], name=scope.get_unique_operator_name("Sub"))
        container.add_node("Concat", [negative, positive], [probabilities], axis=1,
                           name=scope.get_unique_operator_name("Concat"))
    elif link in ("MultinomialLogit", "SymmetricMultinomialLogit"):
        container.add_node("Softmax", [raw], [probabilities], axis=1, name=scope.get_unique_operator_name("Softmax"))
    else:
        raise NotImplementedError(f"HistGradientBoostingClassifier with a {link} link")
    classes = np.asarray(model.classes_)
    names = scope.get_unique_variable_name("hgb_classes")
    if classes.dtype.kind in "iub":
        container.add_initializer(names, TensorProto.INT64, [len(classes)], classes.astype("int64").tolist())
    else:
        container.add_initializer(names, TensorProto.STRING, [len(classes)], [str(c).encode() for c in classes])
    best = scope.get_unique_variable_name("hgb_argmax")
    container.add_node("ArgMax", [probabilities], [best], axis=1, keepdims=0,
                       name=scope.get_unique_operator_name("ArgMax"))
    container.add_node("Gather", [names, best], [operator.outputs[0].full_name], axis=0,
                       name=scope.get_unique_operator_name("Gather"))


def raise_ml_opset(onx) -> None:
    """Sets the model's ``ai.onnx.ml`` import to 5 (``TreeEnsemble``) when the graph holds a TreeEnsemble node.

    The encoders skl2onnx writes (``LabelEncoder``) keep their meaning at 5.
    """
    if any(node.op_type == "TreeEnsemble" for node in onx.graph.node):
        for opset in onx.opset_import:
            if opset.domain == ML_DOMAIN:
                opset.version = max(opset.version, ML_OPSET)


def register() -> None:
    """Replaces skl2onnx's HistGradientBoosting converters with these (idempotent)."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    update_registered_converter(HistGradientBoostingClassifier, "KfpMlopsHistGradientBoostingClassifier",
                                calculate_linear_classifier_output_shapes, convert_classifier,
                                options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
    update_registered_converter(HistGradientBoostingRegressor, "KfpMlopsHistGradientBoostingRegressor",
                                calculate_linear_regressor_output_shapes, convert_regressor)
