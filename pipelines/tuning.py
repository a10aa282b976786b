"""Hyperparameter tuning as a reusable sub-pipeline (a graph component).

``make_trials`` expands a declared space into a bounded trial list;
``dsl.ParallelFor`` trains and scores one scikit-learn model per trial;
``select_best_trial`` reads the collected scores and models and passes on the
best model and its parameters. It runs under kfp.local as on Vertex and KFP.

Use it inside a pipeline like a component::

    tuned = tune_sklearn(train=..., eval=..., schema=..., label=label, space=space)
    best_model = tuned.outputs["best_model"]
    best_params = tuned.outputs["best_params"]
"""
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model

from kfp_mlops.components.training.component import make_trials, select_best_trial, train_trial

DEFAULT_SPACE = {
    "estimator": ["hist_gradient_boosting", "random_forest"],
    "max_depth": [3, 6, 12],
}
PARALLELISM = 4


@dsl.pipeline(name="tune-sklearn", description="Search a hyperparameter space; keep the best model by a named metric.")
def tune_sklearn(
    train: Input[Dataset],
    eval: Input[Dataset],  # noqa: A002 - the split's name in the user's words
    schema: Input[Artifact],
    label: str,
    space: dict = DEFAULT_SPACE,
    strategy: str = "random",
    max_trials: int = 6,
    metric: str = "accuracy",
    task: str = "auto",
    seed: int = 42,
) -> NamedTuple("TuningOutputs", best_model=Model, best_params=dict):
    """Tunes the scikit-learn trainer.

    Args:
        train: Training rows.
        eval: Rows each trial is scored on.
        schema: TFX schema.
        label: The label column.
        space: Hyperparameter -> choices (see ``make_trials``).
        strategy: ``grid`` or ``random``.
        max_trials: Most trials.
        metric: Metric that picks the best trial (direction known per metric).
        task: ``auto``, ``classification`` or ``regression``.
        seed: Random seed.

    Returns:
        ``best_model`` and ``best_params`` (trial, estimator, hyperparameters,
        metric, score, every trial's score).
    """
    trials = make_trials(space=space, strategy=strategy, max_trials=max_trials, seed=seed)
    trials.set_display_name("Make trials")
    with dsl.ParallelFor(trials.output, parallelism=PARALLELISM, name="trials") as trial:
        run = train_trial(train=train, eval=eval, schema=schema, label=label, trial=trial,
                          metric=metric, task=task, seed=seed).set_display_name("Train trial")
    best = select_best_trial(scores=dsl.Collected(run.outputs["Output"]), models=dsl.Collected(run.outputs["model"]),
                             metric=metric).set_display_name("Select best trial")
    outputs = NamedTuple("TuningOutputs", best_model=Model, best_params=dict)
    return outputs(best_model=best.outputs["best_model"], best_params=best.outputs["Output"])
