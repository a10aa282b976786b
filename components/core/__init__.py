"""The shared core: what every capability uses, and the only package a capability imports besides itself.

- the model contract and its files: :mod:`.model_io` (features, predictors), :mod:`.manifest`
  (signed manifests), :mod:`.sklearn_io` and :mod:`.keras_io` (the two model formats),
  :mod:`.features` (casting raw rows to the contract), :mod:`.timestamps`;
- the metric registry, one definition of each metric: :mod:`.metrics`;
- data files: :mod:`.data_contract` (the checks every file meets), :mod:`.tables` (reading rows);
- TFX formats: :mod:`.protos`, :mod:`.schema_io`, :mod:`.anomalies`;
- the registry API every capability consults: :mod:`.registry` (backends live in ``registry/``);
- errors, artifact helpers, report escaping, wording and charts.

Nothing here imports kfp.
"""
