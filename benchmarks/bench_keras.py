"""Keras training throughput on CPU: our tf.data pipeline against a naive model.fit(numpy).

Same data, same model (the trainer's ``preprocess -> core`` with Normalization
and StringLookup layers), same batch size and epochs, in the same run:

- ``naive``: ``model.fit(dict_of_numpy, y, batch_size=B)`` on the whole model,
  so the preprocessing layers run on every batch of every epoch;
- ``tf.data``: ``from_tensor_slices -> batch -> prefetch`` into the whole model
  (what prefetching alone buys);
- ``ours``: the trainer's path: preprocessing runs once in tf.data, the encoded
  rows are cached, shuffled, batched and prefetched, and the core network
  trains with several steps per execution.

Throughput is rows/s over the epochs after the first (tracing excluded), and
over the whole fit. Run ``python benchmarks/bench_keras.py`` (fast) or with
``--rows 200000 --epochs 4`` for a fuller measure.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tensorflow_metadata.proto.v0 import schema_pb2  # noqa: E402


def make_data(rows: int, seed: int) -> tuple[pd.DataFrame, schema_pb2.Schema]:
    """Eight numeric and three categorical columns, a three-class label."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(8)})
    for i, size in enumerate((4, 12, 40)):
        frame[f"c{i}"] = rng.choice([f"v{k}" for k in range(size)], size=rows)
    score = frame["x0"] + frame["x1"] * frame["x2"] + (frame["c0"] == "v1") * 1.5
    frame["label"] = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(str)
    schema = schema_pb2.Schema()
    for name in frame.columns:
        kind = schema_pb2.FLOAT if name.startswith("x") else schema_pb2.BYTES
        schema.feature.add(name=name, type=kind)
    return frame, schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from kfp_mlops.components.core.features import features_from_schema
    from kfp_mlops.components.core.keras_io import to_inputs
    from kfp_mlops.components.training import keras_trainer as kt

    frame, schema = make_data(args.rows, args.seed)
    features = features_from_schema(schema, "label")
    classes = sorted(frame["label"].unique())
    y = frame["label"].map({c: i for i, c in enumerate(classes)}).to_numpy("int32")
    x = to_inputs(frame, features)

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times = [time.perf_counter()]

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter())

    def build(steps_per_execution: int = 1):
        keras.utils.set_random_seed(args.seed)
        preprocess = kt.build_preprocess(schema, features, x)
        core = kt.build_core(int(preprocess.output.shape[-1]), [64, 32], len(classes), "classification", 0.0, 1.0)
        inputs = {name: keras.Input(shape=(1,), dtype=preprocess.input[name].dtype, name=name) for name in x}
        whole = keras.Model(inputs, core(preprocess(inputs)))
        target = core if steps_per_execution > 1 else whole
        target.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                       steps_per_execution=steps_per_execution)
        return preprocess, core, whole

    def measure(name: str, fit) -> dict:
        timer = EpochTimer()
        fit(timer)
        total = timer.times[-1] - timer.times[0]
        steady = (timer.times[-1] - timer.times[1]) / max(1, args.epochs - 1)
        return {"variant": name, "rows_per_s_steady": args.rows / steady,
                "rows_per_s_total": args.rows * args.epochs / total, "seconds_total": total}

    results = []
    # Keras 3 rejects numpy string arrays, so the naive path passes string
    # columns as tf.constant and numbers as numpy; Keras slices both the same way.
    naive_x = {name: tf.constant(value) if value.dtype == object else value for name, value in x.items()}
    _, _, whole = build()
    results.append(measure("naive model.fit(numpy)", lambda cb: whole.fit(
        naive_x, y, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0, callbacks=[cb])))

    _, _, whole = build()
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(args.rows, seed=args.seed).batch(args.batch_size)
    results.append(measure("tf.data + prefetch", lambda cb: whole.fit(
        data.prefetch(tf.data.AUTOTUNE), epochs=args.epochs, verbose=0, callbacks=[cb])))

    steps = kt._steps_per_execution(args.rows, args.batch_size)
    preprocess, core, _ = build(steps_per_execution=steps)
    ours = kt.make_dataset(preprocess, x, y, args.batch_size, shuffle=True, seed=args.seed)
    results.append(measure(f"ours (cached preprocessing, prefetch, {steps} steps/exec)", lambda cb: core.fit(
        ours, epochs=args.epochs, verbose=0, callbacks=[cb], shuffle=False)))

    base = results[0]
    print(f"Keras training throughput on CPU: {args.rows} rows x {len(features)} features, "
          f"batch {args.batch_size}, {args.epochs} epochs, TF {tf.__version__}, {os.cpu_count()} CPUs")
    print(f"{'variant':55s} {'rows/s steady':>14s} {'ratio':>7s} {'rows/s total':>13s} {'ratio':>7s}")
    for r in results:
        print(f"{r['variant']:55s} {r['rows_per_s_steady']:14.0f} "
              f"{r['rows_per_s_steady'] / base['rows_per_s_steady']:6.2f}x "
              f"{r['rows_per_s_total']:13.0f} {r['rows_per_s_total'] / base['rows_per_s_total']:6.2f}x")


if __name__ == "__main__":
    main()
