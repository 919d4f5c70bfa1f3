"""An exponential moving average of the weights during training (``train.ema``).

A :class:`~transformers.TrainerCallback` beside :mod:`argmine.train`::

    after every optimizer step n (1, 2, ...):
        d      = min(decay, (1 + n) / (10 + n))          (warm-up: early weights fade fast)
        shadow = d * shadow + (1 - d) * weights          (float32 copies of every trainable weight)
    dev evaluation    with ema.swapped(model): scores of the shadow weights (model selection and
                      early stopping see the average, not the last step)
    every checkpoint  checkpoint-N/ema.safetensors beside the raw weights (the raw weights keep
                      ``--resume`` exact; resuming reloads the shadow too)
    end of training   the best checkpoint's shadow copied into the model, so thresholds, test
                      scores and the saved model dir are the averaged weights

The warm-up term is TensorFlow's ``ExponentialMovingAverage(num_updates=...)``: with a decay of
0.99 the first hundred steps would otherwise be dominated by the random initial heads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

__all__ = ["EMA_FILE", "WeightEMA"]

EMA_FILE = "ema.safetensors"


class WeightEMA(TrainerCallback):
    """The shadow weights of one model (module docstring). ``resume_from``: a checkpoint dir
    whose ``ema.safetensors`` seeds the shadow (``--resume``)."""

    def __init__(self, decay: float, *, resume_from: str | Path | None = None) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay!r}")
        self.decay = decay
        self.resume_from = Path(resume_from) if resume_from is not None else None
        self.shadow: dict[str, torch.Tensor] | None = None
        self.updates = 0

    def decay_at(self, n: int) -> float:
        """The decay applied at the ``n``-th update (1-based)."""
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @staticmethod
    def _params(model: Any) -> Iterator[tuple[str, torch.nn.Parameter]]:
        return ((n, p) for n, p in model.named_parameters() if p.requires_grad)

    def init(self, model: Any, *, updates: int = 0) -> None:
        """Start the shadow at ``model``'s current weights."""
        self.shadow = {n: p.detach().float().clone() for n, p in self._params(model)}
        self.updates = updates

    def update(self, model: Any) -> None:
        if self.shadow is None:
            self.init(model)
        assert self.shadow is not None
        self.updates += 1
        d = self.decay_at(self.updates)
        with torch.no_grad():
            for name, p in self._params(model):
                self.shadow[name].mul_(d).add_(p.detach().float(), alpha=1.0 - d)

    def copy_to(self, model: Any) -> None:
        """Overwrite ``model``'s weights with the shadow."""
        if self.shadow is None:
            raise ValueError("no EMA weights yet (no training step)")
        with torch.no_grad():
            for name, p in self._params(model):
                p.copy_(self.shadow[name].to(p.dtype))

    @contextlib.contextmanager
    def swapped(self, model: Any) -> Iterator[None]:
        """``model`` holds the shadow weights inside the block, its own weights after."""
        if self.shadow is None:
            yield
            return
        saved = {n: p.detach().clone() for n, p in self._params(model)}
        self.copy_to(model)
        try:
            yield
        finally:
            with torch.no_grad():
                for name, p in self._params(model):
                    p.copy_(saved[name])

    def save(self, directory: str | Path) -> Path:
        from safetensors.torch import save_file

        if self.shadow is None:
            raise ValueError("no EMA weights yet (no training step)")
        path = Path(directory) / EMA_FILE
        tmp = path.with_name(path.name + ".tmp")
        save_file({k: v.contiguous() for k, v in self.shadow.items()}, str(tmp))
        tmp.replace(path)
        return path

    def load(self, directory: str | Path, *, updates: int | None = None) -> None:
        from safetensors.torch import load_file

        self.shadow = load_file(str(Path(directory) / EMA_FILE))
        if updates is not None:
            self.updates = updates

    # -- TrainerCallback ----------------------------------------------------------------------
    def on_train_begin(self, args, state, control, model=None, **kwargs):  # type: ignore[no-untyped-def]
        ckpt = self.resume_from
        if ckpt is not None and (ckpt / EMA_FILE).is_file():
            self.load(ckpt, updates=state.global_step)
        elif self.shadow is None:
            self.init(model, updates=state.global_step)

    def on_step_end(self, args, state, control, model=None, **kwargs):  # type: ignore[no-untyped-def]
        self.update(model)

    def on_save(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        if state.is_world_process_zero and self.shadow is not None:
            from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

            folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
            if folder.is_dir():
                self.save(folder)
