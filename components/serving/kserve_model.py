"""The kserve Model behind the local endpoint: raw rows in, the model's predictions out.

It parses V1/Vertex bodies and V2 requests against the model's feature
contract (:mod:`.payloads`), scores them through micro-batchers
(:mod:`.batching`), and answers ``predictions`` (plus ``probabilities`` on
request) or V2 output tensors. Bad input raises kserve's ``InvalidInput``,
which the server answers with a 400 naming the reason.
"""
import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from kfp_mlops.components.core import payloads
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.explain import row_attributions
from kfp_mlops.components.core.model_io import Predictor
from kfp_mlops.components.serving.batching import MicroBatcher

PREDICT_OUTPUT = "predict"
PROBABILITIES_OUTPUT = "probabilities"
OUTPUTS = (PREDICT_OUTPUT, PROBABILITIES_OUTPUT)
V2_TYPES = {"float": "FP64", "int": "INT64", "string": "BYTES"}
OFFLOAD_ROWS = 2_000  # requests with more rows are parsed on a worker thread


def _row_estimate(payload: Any) -> int:
    """A cheap upper bound on a request's rows (values for V2), to decide where to parse it."""
    if isinstance(payload, dict) and isinstance(payload.get("instances"), list):
        return len(payload["instances"])
    tensors = getattr(payload, "inputs", None) or []
    return sum(len(t.data) if hasattr(t.data, "__len__") else 0 for t in tensors)


def contract_model_class() -> type:
    """Returns the kserve Model class (kserve is imported on first use: it takes a second)."""
    import kserve
    from kserve.errors import InvalidInput
    from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

    class ContractModel(kserve.Model):
        """A kserve Model that scores raw rows with a :class:`Predictor`."""

        def __init__(self, name: str, predictor: Predictor, max_batch_rows: int = 512):
            super().__init__(name)
            self.predictor = predictor
            self.contract = predictor.contract
            threaded = self.contract.framework == "keras"
            self.batcher = MicroBatcher(self._score, max_batch_rows, use_thread=threaded)
            self.proba_batcher = MicroBatcher(self._score_proba, max_batch_rows, use_thread=threaded)
            self.ready = True
            self.pool: Any = None  # a process pool for big requests (see .offload), when serving for good

        def _score(self, batch: Sequence[payloads.Rows]) -> np.ndarray:
            return self.predictor.predict(payloads.rows_to_frame(batch, self.contract))

        def _score_proba(self, batch: Sequence[payloads.Rows]) -> np.ndarray:
            proba = self.predictor.predict_proba(payloads.rows_to_frame(batch, self.contract))
            if proba is None:  # not reached: _check_wanted asks only classification models for probabilities
                raise InputError(f"output {PROBABILITIES_OUTPUT!r} needs a classification model; "
                                 f"this one does {self.contract.task}")
            return proba

        def _check_wanted(self, wanted: list[str]) -> None:
            if PROBABILITIES_OUTPUT in wanted and self.contract.task != "classification":
                raise InputError(f"output {PROBABILITIES_OUTPUT!r} needs a classification model; "
                                 f"this one does {self.contract.task}")

        async def _answer(self, rows: payloads.Rows, wanted: list[str]) -> dict[str, np.ndarray]:
            self._check_wanted(wanted)
            batchers = {PREDICT_OUTPUT: self.batcher, PROBABILITIES_OUTPUT: self.proba_batcher}
            if len(wanted) == 1:
                return {wanted[0]: await batchers[wanted[0]].predict(rows)}
            results = await asyncio.gather(*(batchers[name].predict(rows) for name in wanted))
            return dict(zip(wanted, results, strict=True))

        def predict_now(self, payload: Any, vertex: bool = False) -> Any:
            """Parses, scores and answers one request in this thread, without batching
            (what a worker process does with a big request)."""
            try:
                rows, wanted = self._parse(payload)
                self._check_wanted(wanted)
                scorers = {PREDICT_OUTPUT: self._score, PROBABILITIES_OUTPUT: self._score_proba}
                answers = {name: scorers[name]([rows]) for name in wanted}
            except (InputError, ValueError, TypeError, KeyError) as error:
                raise InvalidInput(str(error) or type(error).__name__) from error
            return self._respond(payload, answers, vertex)

        def _parse(self, payload: Any) -> tuple[payloads.Rows, list[str]]:
            if isinstance(payload, InferRequest):
                return (payloads.rows_from_v2_inputs(payload.inputs, self.contract),
                        payloads.requested_outputs(payload.request_outputs, OUTPUTS))
            rows = payloads.rows_from_body(payload, self.contract)
            return rows, [PREDICT_OUTPUT] + ([PROBABILITIES_OUTPUT] if payloads.wants_probabilities(payload) else [])

        def get_input_types(self) -> list[dict]:
            """V2 metadata: one tensor per feature column, from the feature contract."""
            return [{"name": f.name, "datatype": V2_TYPES.get(f.dtype, "BYTES"), "shape": [-1]}
                    for f in self.contract.features]

        def get_output_types(self) -> list[dict]:
            """V2 metadata: ``predict``, and ``probabilities`` (rows x classes) for a classifier."""
            if self.contract.task != "classification":
                return [{"name": PREDICT_OUTPUT, "datatype": "FP64", "shape": [-1]}]
            label = payloads.v2_datatype(np.asarray(self.contract.classes)) if self.contract.classes else "BYTES"
            return [{"name": PREDICT_OUTPUT, "datatype": label, "shape": [-1]},
                    {"name": PROBABILITIES_OUTPUT, "datatype": "FP64", "shape": [-1, len(self.contract.classes)]}]

        async def predict(self, payload: Any, headers: dict[str, str] | None = None, vertex: bool = False) -> Any:
            try:
                if _row_estimate(payload) > OFFLOAD_ROWS:  # a big request is parsed off the event loop
                    rows, wanted = await asyncio.to_thread(self._parse, payload)
                else:
                    rows, wanted = self._parse(payload)
                answers = await self._answer(rows, wanted)
            except (InputError, ValueError, TypeError, KeyError) as error:
                raise InvalidInput(str(error) or type(error).__name__) from error
            return self._respond(payload, answers, vertex)

        async def explain(self, payload: Any, headers: dict[str, str] | None = None) -> dict:
            """KServe V1 ``POST /v1/models/NAME:explain``: per-row feature attributions.

            The body is a V1 predict body (``{"instances": [...]}``); the answer holds one
            ``{feature: attribution}`` dict per row under ``explanations`` (baseline substitution
            against the training baseline the model carries: :mod:`kfp_mlops.components.core.explain`).
            """
            try:
                rows = payloads.rows_from_body(payload, self.contract)
                frame = payloads.rows_to_frame([rows], self.contract)
                result = await asyncio.to_thread(row_attributions, self.predictor, frame)
            except (InputError, ValueError, TypeError, KeyError) as error:
                raise InvalidInput(str(error) or type(error).__name__) from error
            predictions = result.classes if self.contract.task == "classification" else result.outputs.tolist()
            return {"predictions": predictions, **result.to_json()}

        def _respond(self, payload: Any, answers: dict[str, np.ndarray], vertex: bool) -> Any:
            if isinstance(payload, InferRequest):
                outputs = []
                for name, values in answers.items():
                    values = np.asarray(values)
                    outputs.append(InferOutput(name=name, shape=list(values.shape),
                                               datatype=payloads.v2_datatype(values),
                                               data=payloads.json_values(values.reshape(-1))))
                return InferResponse(response_id=payload.id or str(uuid.uuid4()), model_name=self.name,
                                     infer_outputs=outputs)
            predictions = payloads.json_values(answers[PREDICT_OUTPUT])
            if PROBABILITIES_OUTPUT not in answers:
                return {"predictions": predictions}
            probabilities = payloads.json_values(answers[PROBABILITIES_OUTPUT])
            classes = list(self.contract.classes)
            if vertex:  # Vertex's PredictResponse keeps only "predictions": extras go inside each one
                return {"predictions": [{"prediction": p, "probabilities": row, "classes": classes}
                                        for p, row in zip(predictions, probabilities, strict=True)]}
            return {"predictions": predictions, "probabilities": probabilities, "classes": classes}

    return ContractModel
