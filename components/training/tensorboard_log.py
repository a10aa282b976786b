"""TensorBoard event files from core TensorFlow, without the ``tensorboard`` package.

``keras.callbacks.TensorBoard`` and ``tf.summary.scalar`` need the
``tensorboard`` package at training time. :func:`scalar_logger` writes the
same scalar events with ``tf.summary.write`` and the ``scalars`` plugin
metadata, in Keras' layout (``train/`` and ``validation/`` runs, tags
``epoch_<metric>``), so TensorBoard reads them as it reads Keras' own.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _scalar_metadata():
    from tensorflow.core.framework import summary_pb2

    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    ).SerializeToString()


def write_scalars(writer: Any, values: dict[str, float], step: int) -> None:
    """Writes one step of scalar values with a ``tf.summary`` file writer."""
    import tensorflow as tf

    metadata = _scalar_metadata()
    with writer.as_default():
        for tag, value in values.items():
            tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step, metadata=metadata)
    writer.flush()


def scalar_logger(log_dir: str | os.PathLike) -> Any:
    """Returns a Keras callback that logs epoch metrics as TensorBoard scalars.

    ``loss``/``accuracy`` go to ``<log_dir>/train`` as ``epoch_loss``/
    ``epoch_accuracy``; ``val_*`` metrics go to ``<log_dir>/validation``.
    """
    import keras
    import tensorflow as tf

    root = Path(log_dir)

    class ScalarLogger(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.writers = {}

        def _writer(self, run: str):
            if run not in self.writers:
                self.writers[run] = tf.summary.create_file_writer(str(root / run))
            return self.writers[run]

        def on_epoch_end(self, epoch, logs=None):
            runs: dict[str, dict[str, float]] = {"train": {}, "validation": {}}
            for key, value in (logs or {}).items():
                run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
                runs[run][f"epoch_{name}"] = value
            for run, values in runs.items():
                if values:
                    write_scalars(self._writer(run), values, epoch)

        def on_train_end(self, logs=None):
            for writer in self.writers.values():
                writer.close()

    return ScalarLogger()


def read_scalars(run_dir: str | os.PathLike) -> dict[str, list[tuple[int, float]]]:
    """Reads scalar events back: ``{tag: [(step, value), ...]}`` (for tests and reports)."""
    import tensorflow as tf

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(Path(run_dir).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else value.simple_value
                scalars.setdefault(value.tag, []).append((int(event.step), number))
    return scalars
