"""Saving and loading scikit-learn models with skops, trusting only the types this code allows.

A ``model.skops`` file is not a pickle: skops rebuilds only the types it is told
to trust. The trusted types come from :data:`TRUSTED_PREFIXES` and
:data:`TRUSTED_NAMES` here, never from the file itself: a file that needs
anything else is refused, naming the types. ``model.joblib`` (a pickle, from
older trainers) is loaded only from bytes that passed the manifest or registry
check (see ``model_io.load_model``).
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from kfp_mlops.components.core.errors import ChecksumError

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")
TRUSTED_NAMES = frozenset({
    "functools.partial",  # HistGradientBoosting keeps partial(check_array, ...); its function is checked too
    "kfp_mlops.components.training.sklearn_trainer.FrameCaster",
})
# Inside the trusted prefixes, names that read files, reach the network or run code are still refused.
REFUSED_PARTS = ("numpy.load", "numpy.lib.npyio", "numpy.lib.format", "numpy.ctypeslib", "numpy.f2py",
                 "numpy.distutils", "numpy.testing", "numpy.fromfile", "sklearn.datasets", "sklearn.utils._testing",
                 "sklearn.externals", "sklearn.utils.fixes", "sklearn.utils._show_versions")


def is_trusted(type_name: str) -> bool:
    """Whether a fully qualified type or function name may be loaded from a ``.skops`` file."""
    if type_name in TRUSTED_NAMES:
        return True
    return type_name.startswith(TRUSTED_PREFIXES) and not any(
        type_name == part or type_name.startswith((part + ".", part + "_")) for part in REFUSED_PARTS)


def save(model: Any, path: str | os.PathLike) -> None:
    """Writes ``model`` with skops persistence; refuses types that loading would not trust.

    Raises:
        ChecksumError: If the model holds a type outside the allow-list (it could never be served).
    """
    import skops.io as sio

    data = sio.dumps(model)
    untrusted = [name for name in sio.get_untrusted_types(data=data) if not is_trusted(name)]
    if untrusted:
        raise ChecksumError(f"cannot save {path}: type(s) outside the trusted list: {', '.join(untrusted)}")
    Path(path).write_bytes(data)


def loads(data: bytes, source: str) -> Any:
    """Rebuilds a model from ``.skops`` bytes, trusting only the allow-listed types.

    Raises:
        ChecksumError: Naming ``source`` and the types it needs outside the allow-list.
    """
    import skops.io as sio

    needed = sio.get_untrusted_types(data=data)
    refused = [name for name in needed if not is_trusted(name)]
    if refused:
        raise ChecksumError(f"{source} needs type(s) outside the trusted list: {', '.join(refused)}; refusing to load")
    return sio.loads(data, trusted=needed)


def loads_joblib(data: bytes) -> Any:
    """Unpickles verified ``model.joblib`` bytes (older trainers). Only call it after verification."""
    import joblib

    return joblib.load(io.BytesIO(data))
