"""int8 static quantization of a model directory with ONNX Runtime, calibrated on dev windows.

::

    model dir (safetensors) ──torch.onnx.export (input_ids, attention_mask -> logits;
        batch and length dynamic)──> model.onnx (float32)
    ──onnxruntime.quantization.quant_pre_process (shape inference, graph fusion)──>
    ──quantize_static: QDQ, MatMul weights int8 per channel, activations uint8; ranges from
        the calibration windows (argmine's own windows of the given articles, MinMax)──>
    int8.onnx ──OrtTokenModel: model(input_ids=, attention_mask=).logits──> Tagger

:func:`int8_tagger` gives an ordinary :class:`argmine.tag.Tagger` whose model is the ONNX
Runtime session, so windowing, stitching and decoding are the float32 path's. Whether int8 is
good enough is judged by span F1 against float32 in ``benchmarks/speed.py --paths``; the
numbers are in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from argmine.document import Article

__all__ = ["OrtTokenModel", "export_int8", "int8_tagger"]


class OrtTokenModel:
    """An ONNX Runtime session with the call shape Tagger uses of a torch token classifier."""

    def __init__(
        self, path: str | os.PathLike[str], *, config: Any = None, threads: int | None = None
    ) -> None:
        import onnxruntime as ort

        self.config = config  # the float model's config (ArgumentModel reads hidden_size)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(
        self, *, input_ids: Any, attention_mask: Any, output_hidden_states: bool = False
    ) -> Any:
        import torch

        (logits,) = self.session.run(
            ["logits"],
            {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()},
        )
        # no hidden states: the int8 path tags units only (int8_tagger refuses relation models)
        return SimpleNamespace(logits=torch.from_numpy(logits), hidden_states=(torch.zeros(0),))


def _calibration_windows(tagger: Any, articles: Sequence[Article], limit: int) -> list[Any]:
    windows = [w for a in articles for w in tagger.codec.encode(a, with_labels=False)]
    step = max(1, len(windows) // limit)
    return windows[::step][:limit]


def export_int8(
    model_dir: str | os.PathLike[str],
    calibration: Sequence[Article],
    output: str | os.PathLike[str],
    *,
    windows: int = 64,
    threads: int | None = None,
) -> Path:
    """Write the int8 ONNX model of ``model_dir`` to ``output``, calibrated on (up to)
    ``windows`` windows of the ``calibration`` articles spread over them."""
    import numpy as np
    import torch
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from argmine.tag import Tagger

    tagger = Tagger.load(model_dir, threads=threads)
    samples = _calibration_windows(tagger, calibration, windows)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.rows: Iterator[Any] = iter(samples)

        def get_next(self) -> dict[str, Any] | None:
            w = next(self.rows, None)
            if w is None:
                return None
            ids = np.asarray([w["input_ids"]], dtype=np.int64)
            return {"input_ids": ids, "attention_mask": np.ones_like(ids)}

    class Logits(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="argmine-onnx-") as tmp:
        fp32 = Path(tmp) / "model.onnx"
        pre = Path(tmp) / "model.pre.onnx"
        example = torch.ones((2, 16), dtype=torch.int64)
        torch.onnx.export(
            Logits(tagger.model).eval(),
            (example, example),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "length"},
                "attention_mask": {0: "batch", 1: "length"},
                "logits": {0: "batch", 1: "length"},
            },
            opset_version=17,
            dynamo=False,
        )
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(target),
            Reader(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    return target


def int8_tagger(
    model_dir: str | os.PathLike[str], onnx_path: str | os.PathLike[str], *, threads: int | None
) -> Any:
    """A :class:`argmine.tag.Tagger` of ``model_dir`` running the int8 ONNX model."""
    from argmine.tag import Tagger

    base = Tagger.load(model_dir, threads=threads)
    if base.has_relations or base.network.unit_head is not None:
        raise ValueError(f"{model_dir}: the int8 path has no unit or relation heads yet")
    if base.network.crf is not None:
        raise ValueError(f"{model_dir}: the int8 path has no CRF transitions yet")
    return Tagger(
        model=OrtTokenModel(onnx_path, config=base.model.config, threads=threads),
        tokenizer=base.tokenizer,
        spec=base.spec,
        model_dir=base.model_dir,
        dtype="float32",
        stage2=base.stage2,  # needs only the tag probabilities
    )
