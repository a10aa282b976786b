"""GPU handling, exercised on CPU: strategy choice, memory growth, mixed precision and the CPU fallback."""
from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from kfp_mlops.components.training.devices import configure_devices, plan_devices


class FakeTF:
    """A stand-in for the ``tensorflow`` module with an injected list of GPUs."""

    def __init__(self, gpu_count: int = 0, fail_listing: bool = False, growth_error: bool = False):
        self.gpus = [SimpleNamespace(name=f"/physical_device:GPU:{i}") for i in range(gpu_count)]
        self.growth: list[str] = []
        self.strategies: list[tuple] = []
        self.fail_listing, self.growth_error = fail_listing, growth_error
        fake = self
        self.config = SimpleNamespace(
            list_physical_devices=self._list,
            experimental=SimpleNamespace(set_memory_growth=self._growth),
        )
        self.distribute = SimpleNamespace(
            MirroredStrategy=lambda devices: fake._strategy("mirrored", devices),
            OneDeviceStrategy=lambda device: fake._strategy("one_device", device),
            get_strategy=lambda: fake._strategy("default", None),
        )

    def _list(self, kind):
        assert kind == "GPU"
        if self.fail_listing:
            raise RuntimeError("CUDA driver version is insufficient")
        return self.gpus

    def _growth(self, gpu, enabled):
        if self.growth_error:
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        self.growth.append((gpu.name, enabled))

    def _strategy(self, kind, devices):
        self.strategies.append((kind, devices))
        return SimpleNamespace(kind=kind, devices=devices)


class FakeKeras:
    def __init__(self):
        self.policies: list[str] = []
        self.mixed_precision = SimpleNamespace(set_global_policy=self.policies.append)


@pytest.mark.parametrize("count,strategy,mixed", [(0, "default", False), (1, "one_device", True), (4, "mirrored", True)])
def test_plan_follows_gpu_count(count, strategy, mixed):
    plan = plan_devices([f"/physical_device:GPU:{i}" for i in range(count)])
    assert (plan.strategy, plan.mixed_precision) == (strategy, mixed)
    assert plan.devices == ([f"/gpu:{i}" for i in range(count)] if count else ["/cpu:0"])
    assert plan_devices(["/physical_device:GPU:0"], allow_mixed_precision=False).mixed_precision is False


def test_several_gpus_mirror_with_memory_growth_and_mixed_precision():
    tf, keras = FakeTF(gpu_count=2), FakeKeras()
    strategy, plan = configure_devices(tf=tf, keras=keras)
    assert tf.growth == [("/physical_device:GPU:0", True), ("/physical_device:GPU:1", True)]
    assert (strategy.kind, strategy.devices) == ("mirrored", ["/gpu:0", "/gpu:1"])
    assert keras.policies == ["mixed_float16"]
    assert plan.to_dict()["gpus"] == ["/physical_device:GPU:0", "/physical_device:GPU:1"]


def test_one_gpu_uses_one_device_strategy_even_when_growth_cannot_be_set(caplog):
    caplog.set_level(logging.INFO, logger="kfp_mlops")  # the log line, whatever handlers earlier tests installed
    tf, keras = FakeTF(gpu_count=1, growth_error=True), FakeKeras()
    strategy, plan = configure_devices(tf=tf, keras=keras)
    assert (strategy.kind, strategy.devices) == ("one_device", "/gpu:0")
    assert "memory growth not set" in caplog.text
    assert keras.policies == ["mixed_float16"]


def test_broken_gpu_setup_falls_back_to_cpu_with_the_reason():
    tf, keras = FakeTF(gpu_count=1, fail_listing=True), FakeKeras()
    strategy, plan = configure_devices(tf=tf, keras=keras)
    assert strategy.kind == "default" and plan.devices == ["/cpu:0"]
    assert "CUDA driver version is insufficient" in plan.fallback_reason
    assert keras.policies == ["float32"]


def test_this_machine_trains_on_cpu_with_the_real_tensorflow():
    import keras

    strategy, plan = configure_devices()
    try:
        assert plan.strategy == "default" and plan.devices == ["/cpu:0"]
        assert strategy.num_replicas_in_sync == 1
        assert keras.mixed_precision.global_policy().name == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow  # the GPU code path on logical CPUs (no GPU here); the CPU path trains in the default suite
@pytest.mark.parametrize("gpus,strategy", [(1, "one_device"), (2, "mirrored")])
def test_gpu_strategies_with_mixed_precision_train_for_real_on_logical_cpus(penguins, tmp_path, gpus, strategy):
    """The GPU code path for real: OneDevice/MirroredStrategy over logical CPUs, mixed_float16 on."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np

    from kfp_mlops.components.core.model_io import load_model

    train, evaluation, schema, frame = penguins
    script = Path(__file__).with_name("mirrored_cpu_run.py")
    done = subprocess.run([sys.executable, str(script), str(train), str(evaluation), str(schema), str(tmp_path), str(gpus)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    metadata = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert metadata["strategy"] == strategy and metadata["devices"] == [f"/gpu:{i}" for i in range(gpus)]
    assert metadata["mixed_precision"] is True
    proba = load_model(tmp_path / "model").predict_proba(frame.drop(columns="species"))
    assert proba.dtype == np.float64 and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-3)
