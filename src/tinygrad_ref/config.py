"""Global switches: whether operations record a graph, whether the model is training, and how
much memory a batched forward-mode pass may take."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class _Config(threading.local):
    """Settings read by every operation; each thread sees its own values.

    Class attributes are the defaults a new thread starts with.
    """

    enable_backprop: bool = True
    train: bool = True
    """Training mode (DeZero's ``Config.train``): dropout drops and batch norm uses the batch's
    statistics; ``test_mode()`` turns it off."""
    max_batch_bytes: int = 2**28
    """The most memory, in bytes, that the batch of tangents of the differentiated argument may
    take in one pass of ``jacobian`` and ``hessian`` (256 MiB): B tangents of an argument of n
    bytes take B n, and every value the function computes carries B times its own size. Beyond
    it they work in chunks, each running the function once, which a function that updates state
    or draws random numbers refuses."""


Config = _Config()


@contextlib.contextmanager
def using_config(name: str, value: bool | int) -> Iterator[None]:
    """Set ``Config.<name>`` to ``value`` in this thread for the body of a ``with`` block."""
    if name not in _Config.__annotations__:
        known = ", ".join(_Config.__annotations__)
        raise ValueError(f"unknown config option {name!r}; known: {known}")
    if type(getattr(_Config, name)) is int:
        if type(value) is not int:
            raise TypeError(f"config option {name!r} takes an int, not {value!r}")
        if value < 1:
            raise ValueError(f"config option {name!r} must be positive, not {value}")
    old_value = getattr(Config, name)
    setattr(Config, name, value)
    try:
        yield
    finally:
        setattr(Config, name, old_value)


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Record no graph in the body of a ``with`` block (inference, parameter updates)."""
    return using_config("enable_backprop", False)


def test_mode() -> contextlib.AbstractContextManager[None]:
    """Inference mode in the body of a ``with`` block: ``Config.train`` is ``False`` (DeZero)."""
    return using_config("train", False)
