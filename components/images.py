"""Container image families for our components.

Every component runs in an image that already contains this package, so no
component needs ``packages_to_install``. The tag in the decorator is a
placeholder; :mod:`kfp_mlops.pipelines.compiler` rewrites it at compile time.
"""
from __future__ import annotations

from typing import Callable

from kfp_mlops import __version__

DEFAULT_REGISTRY = "ghcr.io/kfp-mlops"
# The release's own images: a component imported in Python and its published YAML name the same image.
DEFAULT_TAG = __version__
FAMILIES = ("core", "tf", "gpu", "serve")


def image_name(family: str, registry: str = DEFAULT_REGISTRY, tag: str = DEFAULT_TAG, digest: str = "") -> str:
    """Returns the image reference of one family.

    Args:
        family: One of ``core``, ``tf``, ``gpu``, ``serve``.
        registry: Registry prefix, e.g. ``us-docker.pkg.dev/proj/repo``.
        tag: Image tag, e.g. a commit SHA.
        digest: ``sha256:...``: pin the image by digest instead of the tag.

    Raises:
        ValueError: If the family is unknown.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown image family {family!r}; expected one of {', '.join(FAMILIES)}")
    if digest:
        return f"{registry.rstrip('/')}/kfp-mlops-{family}@{digest}"
    return f"{registry.rstrip('/')}/kfp-mlops-{family}:{tag}"


def family_of(image: str) -> str | None:
    """Returns the family of one of our image references (by tag or digest), or None for a foreign image."""
    name = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    if name.startswith("kfp-mlops-") and name[len("kfp-mlops-"):] in FAMILIES:
        return name[len("kfp-mlops-"):]
    return None


def component(family: str = "core") -> Callable:
    """Decorator: a lightweight KFP component that runs in our image ``family``.

    The compiled command is the standard ``kfp.dsl.executor_main`` over the
    function source; the image carries kfp and this package, so nothing is
    pip-installed at run time.
    """
    from kfp import dsl

    return dsl.component(base_image=image_name(family), install_kfp_package=False)
