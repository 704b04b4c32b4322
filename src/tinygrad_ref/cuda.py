"""DeZero's ``dezero.cuda``, as DeZero has it on a machine without CuPy: tinygrad_ref computes
with NumPy on the CPU, so ``gpu_enable`` is ``False``, every array's module is NumPy, and
:func:`as_cupy` refuses. Code written for both, as the book's step 52
(``if dezero.cuda.gpu_enable: ...``), runs on the CPU."""

from __future__ import annotations

from types import ModuleType
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Variable

gpu_enable: bool = False
"""Whether a GPU backend is there: never, in tinygrad_ref (typed `bool`, not a literal, so that
code written for both does not type-check as unreachable)."""


def get_array_module(x: Variable | npt.ArrayLike) -> ModuleType:
    """The array module that computes on ``x`` (a Variable or an array): NumPy."""
    return np


def as_numpy(x: Variable | npt.ArrayLike) -> npt.NDArray[Any]:
    """``x`` (a Variable's data, an array or a number) as a NumPy array."""
    return np.asarray(x.data if isinstance(x, Variable) else x)


def as_cupy(x: Variable | npt.ArrayLike) -> NoReturn:
    """Refused: tinygrad_ref has no GPU backend (DeZero raises the same way without CuPy)."""
    raise RuntimeError("as_cupy: tinygrad_ref has no GPU backend; it computes with NumPy")


__all__ = ["as_cupy", "as_numpy", "get_array_module", "gpu_enable"]
