"""Device handling for the Keras trainer: GPUs if there are any, the CPU otherwise.

- detects GPUs and turns on memory growth on each (a training step then takes
  what it needs, not the whole card);
- more than one GPU: ``MirroredStrategy`` over all of them; one GPU:
  ``OneDeviceStrategy``; none: TensorFlow's default strategy on the CPU;
- mixed precision (``mixed_float16``) on GPU only;
- any failure while configuring GPUs falls back to the CPU with a printed reason.

:func:`plan_devices` is pure and :func:`configure_devices` takes the ``tf`` and
Keras modules as arguments, so the GPU path is testable on a machine without one.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

CPU, ONE_DEVICE, MIRRORED = "default", "one_device", "mirrored"


@dataclass
class DevicePlan:
    """Which devices a training run uses, and how."""

    gpus: list[str]
    strategy: str  # "default" (CPU) | "one_device" | "mirrored"
    mixed_precision: bool
    devices: list[str] = field(default_factory=list)
    fallback_reason: str = ""

    def to_dict(self) -> dict:
        """The plan as plain values, for artifact metadata."""
        return asdict(self)


def plan_devices(gpu_names: list[str], allow_mixed_precision: bool = True) -> DevicePlan:
    """Chooses the strategy and precision for a list of visible GPU names.

    Args:
        gpu_names: Physical GPU names, e.g. ``["/physical_device:GPU:0"]``.
        allow_mixed_precision: Use ``mixed_float16`` when training on GPU.

    Returns:
        The plan: ``mirrored`` for several GPUs, ``one_device`` for one, the
        CPU ``default`` strategy for none.
    """
    gpus = list(gpu_names)
    logical = [f"/gpu:{index}" for index in range(len(gpus))]
    if len(gpus) > 1:
        return DevicePlan(gpus, MIRRORED, allow_mixed_precision, logical)
    if len(gpus) == 1:
        return DevicePlan(gpus, ONE_DEVICE, allow_mixed_precision, logical)
    return DevicePlan([], CPU, False, ["/cpu:0"])


def configure_devices(tf: Any = None, keras: Any = None, allow_mixed_precision: bool = True) -> tuple[Any, DevicePlan]:
    """Detects GPUs, sets memory growth, and returns a distribution strategy.

    Call it before building any model. It sets Keras' global dtype policy
    (``mixed_float16`` or ``float32``); :func:`reset_precision` restores it.

    Args:
        tf: The ``tensorflow`` module (injectable for tests).
        keras: The ``keras`` module (injectable for tests).
        allow_mixed_precision: Use ``mixed_float16`` on GPU.

    Returns:
        ``(strategy, plan)``.
    """
    if tf is None:
        import tensorflow

        tf = tensorflow
    if keras is None:
        import keras as keras_module

        keras = keras_module
    try:
        gpus = tf.config.list_physical_devices("GPU")
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError as error:  # already initialized: growth cannot change, training still works
                logger.info(f"memory growth not set on {gpu.name}: {error}")
        plan = plan_devices([gpu.name for gpu in gpus], allow_mixed_precision)
        if plan.strategy == MIRRORED:
            strategy = tf.distribute.MirroredStrategy(devices=plan.devices)
        elif plan.strategy == ONE_DEVICE:
            strategy = tf.distribute.OneDeviceStrategy(plan.devices[0])
        else:
            strategy = tf.distribute.get_strategy()
    except Exception as error:  # noqa: BLE001 - any GPU setup failure must fall back to CPU
        plan = plan_devices([])
        plan.fallback_reason = f"{type(error).__name__}: {error}"
        logger.info(f"GPU setup failed, training on CPU ({plan.fallback_reason})")
        strategy = tf.distribute.get_strategy()
    keras.mixed_precision.set_global_policy("mixed_float16" if plan.mixed_precision else "float32")
    logger.info(
        f"strategy={plan.strategy} devices={','.join(plan.devices)} "
        f"mixed_precision={plan.mixed_precision}")
    return strategy, plan


def reset_precision(keras: Any = None) -> None:
    """Restores Keras' global ``float32`` policy after training."""
    if keras is None:
        import keras as keras_module

        keras = keras_module
    keras.mixed_precision.set_global_policy("float32")
