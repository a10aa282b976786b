"""The Keras trainer's ``preprocess -> core`` model as an ONNX graph, from its layers' weights.

tf2onnx 1.17 (the current release, which loads under TensorFlow 2.21) converts
the dense part but leaves ``StringLookup``'s hash table as a
``LookupTableFindV2`` node that no ONNX runtime implements, and Keras 3's
``model.export(format="onnx")`` goes through the same converter. The model's
layers are few and known (see :mod:`.keras_trainer`), so the graph is written
here with ``onnx.helper``:

- numbers: ``(x - mean) / max(sqrt(variance), epsilon)`` (``Normalization``),
  NaN -> 0 (``FillMissing``);
- categories: ``LabelEncoder`` (vocabulary -> 1..n, anything else -> 0, the
  out-of-vocabulary slot) and ``OneHot`` (``StringLookup(output_mode="one_hot")``);
- ``Dense`` layers (relu, softmax or linear) and ``Rescaling`` for regression.

Any other layer raises ``NotImplementedError``: the export check then keeps
the native path.
"""
from __future__ import annotations

from typing import Any

import numpy as np

EPSILON = 1e-7  # keras.backend.epsilon()


def convert(model: Any, features: list, task: str, opset: int = 17) -> tuple[Any, list[str]]:
    """Returns ``(onnx ModelProto, input names in feature order)`` for a Keras trainer's model."""
    from onnx import TensorProto, helper, numpy_helper

    from kfp_mlops.components.training.keras_trainer import layer_names

    preprocess, core = model.get_layer("preprocess"), model.get_layer("core")
    safe = layer_names([f.name for f in features])
    nodes: list[Any] = []
    inits, inputs, encoded = [], [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, ins: list[str], out: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(op, ins, [out], name=f"{op}_{len(nodes)}", domain=domain, **attrs))
        return out

    for feature in features:
        name = safe[feature.name]
        if feature.kind == "categorical":
            lookup = preprocess.get_layer(f"lookup_{name}")
            vocabulary = list(lookup.get_vocabulary())
            if lookup.num_oov_indices != 1 or lookup.mask_token is not None or lookup.output_mode != "one_hot":
                raise NotImplementedError(f"StringLookup {lookup.name} is not the trainer's one-hot with one OOV slot")
            inputs.append(helper.make_tensor_value_info(name, TensorProto.STRING, [None, 1]))
            index = node("LabelEncoder", [name], f"{name}_index", domain="ai.onnx.ml",
                         keys_strings=[str(v) for v in vocabulary[1:]], values_int64s=list(range(1, len(vocabulary))),
                         default_int64=0)
            hot = node("OneHot", [index, const(f"{name}_depth", np.array(len(vocabulary), np.int64)),
                                  const(f"{name}_values", np.array([0.0, 1.0], np.float32))], f"{name}_onehot", axis=-1)
            encoded.append(node("Reshape", [hot, const(f"{name}_shape", np.array([-1, len(vocabulary)], np.int64))],
                                f"{name}_encoded"))
        else:
            normalize = preprocess.get_layer(f"normalize_{name}")
            mean = np.asarray(normalize.mean, np.float32).reshape(1, -1)
            scale = np.maximum(np.sqrt(np.asarray(normalize.variance, np.float32)), EPSILON).reshape(1, -1)
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, 1]))
            centred = node("Sub", [name, const(f"{name}_mean", mean)], f"{name}_centred")
            scaled = node("Div", [centred, const(f"{name}_scale", scale)], f"{name}_scaled")
            missing = node("IsNaN", [scaled], f"{name}_missing")
            encoded.append(node("Where", [missing, const(f"{name}_zero", np.zeros((1, 1), np.float32)), scaled],
                                f"{name}_encoded"))
    current = node("Concat", encoded, "features", axis=1) if len(encoded) > 1 else encoded[0]
    dense_count = 0
    for layer in core.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            kernel, bias = (np.asarray(w, np.float32) for w in layer.get_weights())
            dense_count += 1
            weights = [const(f"dense{dense_count}_w", kernel), const(f"dense{dense_count}_b", bias)]
            current = node("Gemm", [current, *weights], f"dense{dense_count}")
            activation = layer.activation.__name__
            if activation == "relu":
                current = node("Relu", [current], f"dense{dense_count}_relu")
            elif activation == "softmax":
                current = node("Softmax", [current], f"dense{dense_count}_softmax", axis=-1)
            elif activation != "linear":
                raise NotImplementedError(f"Dense activation {activation!r}")
        elif kind == "Rescaling":
            current = node("Mul", [current, const("rescale_scale", np.array(layer.scale, np.float32))], "rescaled")
            current = node("Add", [current, const("rescale_offset", np.array(layer.offset, np.float32))], "offset")
        elif kind != "InputLayer":
            raise NotImplementedError(f"layer {layer.name} ({kind})")
    output = "probabilities" if task == "classification" else "value"
    node("Identity", [current], output)
    graph = helper.make_graph(nodes, "kfp_mlops_keras", inputs,
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, [None, None])], inits)
    onx = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("ai.onnx.ml", 3)],
                            producer_name="kfp-mlops")
    onx.ir_version = min(onx.ir_version, 10)
    return onx, [safe[f.name] for f in features]
