"""kfp-mlops: Kubeflow Pipelines v2 components and pipelines for MLOps level 2.

The repository keeps its top-level ``components/`` and ``pipelines/`` folders; this
package reaches them through the links ``kfp_mlops/components`` and
``kfp_mlops/pipelines``, so that ``kfp_mlops.*`` imports resolve from a plain
checkout (mypy, pyright, ruff, import graphs) with no install and no import hook.
"""

__version__ = "0.1.0"
