"""Runs the Keras trainer's multi-GPU path on two logical CPUs (a subprocess of the device tests).

The trainer is told it sees GPU_COUNT GPUs; its strategy (OneDeviceStrategy or
MirroredStrategy) then runs on that many logical CPU devices, with mixed
precision on, as on a GPU machine.
Usage: python mirrored_cpu_run.py TRAIN EVAL SCHEMA OUT_DIR GPU_COUNT
"""
import json
import sys
from types import SimpleNamespace

import tensorflow as tf

train, evaluation, schema, out, count = sys.argv[1:6]
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * max(1, int(count)))
gpus = [SimpleNamespace(name=f"/physical_device:GPU:{i}") for i in range(int(count))]
fake_tf = SimpleNamespace(
    config=SimpleNamespace(
        list_physical_devices=lambda kind: gpus if kind == "GPU" else tf.config.list_physical_devices(kind),
        experimental=SimpleNamespace(set_memory_growth=lambda device, enabled: None),
    ),
    distribute=SimpleNamespace(
        MirroredStrategy=lambda devices: tf.distribute.MirroredStrategy([d.replace("gpu", "cpu") for d in devices]),
        OneDeviceStrategy=lambda device: tf.distribute.OneDeviceStrategy(device.replace("gpu", "cpu")),
        get_strategy=tf.distribute.get_strategy,
    ),
)

from kfp_mlops.components.training.keras_trainer import train_keras_model  # noqa: E402

result = train_keras_model(train, evaluation, schema, f"{out}/model", f"{out}/tb", "species", epochs=3,
                           learning_rate=0.01, hidden_units="16", export_saved_model=False, tf=fake_tf)
print("RESULT " + json.dumps(result.metadata))
