"""Named datasets that every command accepts in place of a path (``--data penguins``).

``penguins`` (palmerpenguins, multiclass), and scikit-learn's bundled
``diabetes`` (regression), ``breast_cancer`` (binary, 37% positive) and
``wine`` (multiclass), written as CSV with a ``target`` label column.

The bundled palmerpenguins CSV lives in site-packages, under ``lib/python3.11``,
and kfp.local rewrites the text ``python3`` inside task arguments, so that path
cannot be passed to a pipeline. A name resolves to a copy under
``$KFP_MLOPS_HOME/datasets/``: a stable path, written once, that every command
and every pipeline accepts.
"""
from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import threading
from pathlib import Path

# name -> label column of the bundled dataset
BUNDLED = {"penguins": "species", "diabetes": "target", "breast_cancer": "target", "wine": "target"}
SKLEARN_LOADERS = {"diabetes": "load_diabetes", "breast_cancer": "load_breast_cancer", "wine": "load_wine"}
# argparse destinations that take a CSV path
DATA_ARGUMENTS = ("data", "training_data", "baseline", "new_data", "serving_data")


def materialize(name: str, folder: str | os.PathLike | None = None) -> Path:
    """Returns the path of a bundled dataset's copy under ``folder`` (default ``<home>/datasets``), writing it once.

    Raises:
        KeyError: For a name that is not a bundled dataset.
    """
    from kfp_mlops.components.core.tables import bundled_dataset_path
    from kfp_mlops.pipelines.local_runner import home_dir

    if name not in BUNDLED:
        raise KeyError(name)
    target = Path(folder or home_dir() / "datasets") / f"{name}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    if name in SKLEARN_LOADERS:
        import sklearn.datasets

        getattr(sklearn.datasets, SKLEARN_LOADERS[name])(as_frame=True).frame.to_csv(temporary, index=False)
        source = temporary
    else:
        source = Path(bundled_dataset_path())
    if not (target.is_file() and filecmp.cmp(source, target, shallow=False)):
        if source != temporary:
            shutil.copyfile(source, temporary)
        os.replace(temporary, target)  # whole files only: a reader never sees half of one
    Path(temporary).unlink(missing_ok=True)
    return target


def resolve_dataset_names(args: argparse.Namespace) -> None:
    """Replaces a bundled dataset's name in any data argument by its copy's path; defaults the label.

    ``kfp-mlops run training`` with no ``--data`` trains on the bundled penguins,
    through the same copy, so the path it prints works in every other command.
    """
    named = ""
    for attribute in DATA_ARGUMENTS:
        value = getattr(args, attribute, None)
        if isinstance(value, str) and value in BUNDLED and not Path(value).exists():
            setattr(args, attribute, str(materialize(value)))
            named = named or value
    if getattr(args, "command", "") == "run" and getattr(args, "pipeline", "") == "training" and not args.data:
        args.data, named = str(materialize("penguins")), "penguins"
    if named and hasattr(args, "label") and not args.label:
        args.label = BUNDLED[named]
