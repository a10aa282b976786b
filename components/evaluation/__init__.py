"""Model evaluation: metrics by task, per-slice metrics, and the blessing gate.

- :mod:`.metrics` computes scalar metrics, the confusion matrix and the ROC curve;
- :mod:`.gate` decides ``blessed`` from thresholds, the champion and slice floors;
- :mod:`.report` writes the reasons as Markdown;
- :mod:`.evaluate` ties them together for the ``evaluate_model`` component.
"""
