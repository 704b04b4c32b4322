"""Batched forward mode: a batch of tangents (a leading axis of size B) through every jvp rule,
``jvp(..., batched=True)``, and the transforms that run their function once with it
(``jacobian`` in both modes, ``hessian``): functions with state or randomness update it and draw
it once per call, and are refused the chunks above ``Config.max_batch_bytes``."""

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pytest

from tests.helpers import cubic, cubic_hessian, grad_of
from tinygrad_ref import (
    Config,
    Function,
    Variable,
    batch_norm,
    dropout,
    grad,
    hessian,
    jacobian,
    jvp,
    sin,
    using_config,
)
from tinygrad_ref.core import Array, Tensor, is_zero_tangent
from tinygrad_ref.ops import Sin, get_item, linear, matmul, mean, split, stack
from tinygrad_ref.ops.shape import batched

RNG = np.random.default_rng(21)
X = np.array([0.5, -1.25, 2.0])


def _separately(f: Callable[..., Any], primals: Sequence[Any], batch: Sequence[Any]) -> Any:
    """The tangents of one jvp per row of ``batch``, stacked."""
    rows = [jvp(f, primals, [t[b] for t in batch])[1] for b in range(len(batch[0]))]
    if isinstance(rows[0], tuple):
        return tuple(np.stack([row[k] for row in rows]) for k in range(len(rows[0])))
    return np.stack(rows)


def test_a_batch_of_tangents_gives_a_batch_of_directional_derivatives() -> None:
    a, c = RNG.standard_normal((3, 4)), RNG.standard_normal(4)

    def f(x: Variable, w: Variable) -> Variable:
        return (sin(x @ w) * c + w.sum(axis=0)).T @ x

    x0, w0 = RNG.standard_normal((2, 3)), a
    # NOTE: a batch of 2, the size of x's first axis: misplaced, it would still broadcast
    batch = [RNG.standard_normal((2, 2, 3)), RNG.standard_normal((2, 3, 4))]
    value, tangents = jvp(f, (x0, w0), batch, batched=True)
    np.testing.assert_array_equal(value, f(Variable(x0), Variable(w0)).data)
    assert tangents.shape == (2, *value.shape)
    np.testing.assert_allclose(tangents, _separately(f, [x0, w0], batch), rtol=1e-14)


def test_a_batch_through_a_function_of_several_outputs() -> None:
    batch = [RNG.standard_normal((5, 4))]
    values, tangents = jvp(lambda x: split(sin(x), 2), (np.arange(4.0),), batch, batched=True)
    assert len(values) == len(tangents) == 2
    assert [t.shape for t in tangents] == [(5, 2), (5, 2)]
    for got, expected in zip(
        tangents, _separately(lambda x: split(sin(x), 2), [np.arange(4.0)], batch), strict=True
    ):
        np.testing.assert_array_equal(got, expected)


def test_a_batch_of_variables_is_recorded() -> None:
    x = Variable(X)
    batch = np.eye(3)
    _, tangents = jvp(lambda t: sin(t) * t, (x,), (batch,), batched=True)
    assert isinstance(tangents, Variable)
    tangents.sum().backward()
    # NOTE: d/dx of sum over the batch of diag(cos(x) x + sin(x)), the Jacobian's diagonal
    np.testing.assert_allclose(grad_of(x), -np.sin(X) * X + 2 * np.cos(X), rtol=1e-14)


def test_batched_jvp_checks_its_tangents() -> None:
    f: Callable[..., Any] = sin
    with pytest.raises(ValueError, match="needs a tangent: its leading axis is the batch"):
        jvp(lambda: Variable(1.0), (), (), batched=True)
    with pytest.raises(ValueError, match="tangent 0 is 0-d"):
        jvp(f, (np.float64(1.0),), (np.float64(1.0),), batched=True)
    with pytest.raises(ValueError, match=r"batches of different sizes \[2, 3\]"):
        jvp(lambda a, b: a * b, (X, X), (np.ones((2, 3)), np.ones((3, 3))), batched=True)
    with pytest.raises(ValueError, match=r"a batch of 2 tangents of it has shape \(2, 3\)"):
        jvp(f, (X,), (np.ones((2, 4)),), batched=True)


class Cube(Function):
    """x ** 3, with a jvp that counts its calls; looped (it declares no batch)."""

    calls = 0

    def forward(self, x: Array) -> Array:
        return x**3

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * 3 * x**2

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        Cube.calls += 1
        return tx * 3 * x**2


class BatchedCube(Cube):
    batched_jvp = True

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        Cube.calls += 1
        return tx * 3 * x**2


class CubeOfItsOwn(BatchedCube):
    """A new jvp under a class that declared a batch: looped again, unless it declares one."""

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        Cube.calls += 1
        return tx * 3 * x**2


class CubeAsTheParent(BatchedCube):
    """No jvp of its own: its parent's, and its parent's declaration."""

    def forward(self, x: Array) -> Array:
        return x * x * x


@pytest.mark.parametrize(
    ("cls", "calls"), [(Cube, 4), (BatchedCube, 1), (CubeOfItsOwn, 4), (CubeAsTheParent, 1)]
)
def test_a_user_function_is_looped_over_the_batch_unless_it_declares_one(
    cls: type[Cube], calls: int
) -> None:
    assert cls.batched_jvp == (calls == 1)
    batch = RNG.standard_normal((4, 3))
    for primal in (X, Variable(X)):  # NOTE: on arrays, and on Variables
        Cube.calls = 0
        _, tangents = jvp(lambda x: cls()(x), (primal,), (batch,), batched=True)
        assert Cube.calls == calls
        np.testing.assert_allclose(
            np.asarray(getattr(tangents, "data", tangents)), batch * 3 * X**2
        )
    Cube.calls = 0
    np.testing.assert_allclose(hessian(lambda x: cls()(x).sum())(X), np.diag(6 * X))


def _subclasses(cls: type[Function]) -> set[type[Function]]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(sub) for sub in found))


def test_every_function_of_the_library_takes_a_batch_of_tangents() -> None:
    # NOTE: a looped rule is right, so check_batched cannot tell it from a batched one: the
    # declaration is the contract for every op (a new op that forgets it fails here)
    # NOTE: the proof's own Functions (check_vjp's adapter of a user's rule) are no ops, nor
    # is a base class that computes nothing (arithmetic's _HoldsConstant)
    ours = [
        c
        for c in _subclasses(Function)
        if c.__module__.startswith("tinygrad_ref.")
        and not c.__module__.startswith("tinygrad_ref.verification.")
        and c.forward is not Function.forward
    ]
    assert len(ours) > 50
    assert [c.__name__ for c in ours if not c.batched_jvp] == []


class BatchIgnored(Function):
    """Declares a batch, but its rule sums over every axis, the batch's too."""

    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.asarray(x.sum())

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * np.ones_like(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        total: Tensor = tx.sum()
        return total


def test_a_rule_that_mishandles_the_batch_axis_is_refused_by_name() -> None:
    with pytest.raises(
        ValueError, match=r"BatchIgnored.jvp returned a tangent of shape \(\) for a batch of 4"
    ):
        jvp(lambda x: BatchIgnored()(x), (X,), (np.ones((4, 3)),), batched=True)
    assert jvp(lambda x: BatchIgnored()(x), (X,), (np.ones(3),))[1] == 3.0


def test_the_transforms_run_the_function_once() -> None:
    calls = 0

    def counted(x: Variable) -> Variable:
        nonlocal calls
        calls += 1
        return cubic(x)

    for transform in (
        hessian(counted),
        jacobian(grad(counted), mode="fwd"),
        jacobian(grad(counted)),
    ):
        calls = 0
        np.testing.assert_allclose(transform(X), cubic_hessian(X), rtol=1e-14)
        assert calls == 1


def test_forward_and_reverse_jacobians_agree_on_both_paths_of_reverse_mode() -> None:
    w = RNG.standard_normal((7, 3))

    def f(x: Variable) -> Variable:
        return sin(w @ x) * (x**2).sum()

    for rows in (7, 4, 1):  # NOTE: above 4 outputs the batched pullback, else one row a pass
        g = lambda x, rows=rows: f(x)[:rows]  # noqa: E731
        forward, reverse = jacobian(g, mode="fwd")(X), jacobian(g)(X)
        assert forward.shape == reverse.shape == (rows, 3)
        np.testing.assert_allclose(reverse, forward, rtol=1e-13, atol=1e-15)


def test_transforms_of_jacobians_agree_in_both_modes() -> None:
    w = RNG.standard_normal((6, 3))

    def f(x: Variable) -> Variable:
        return sin(matmul(w, x)) * x.sum()

    results = []
    for mode in ("rev", "fwd"):
        jac = jacobian(f, mode=mode)
        results.append(
            (grad(lambda x, jac=jac: (jac(x) ** 2).sum())(X), jacobian(jac, mode="fwd")(X))
        )
    for got, expected in zip(results[0], results[1], strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


def test_a_reverse_jacobian_is_linked_to_what_its_function_captured() -> None:
    w = Variable(RNG.standard_normal((6, 3)))
    jac: Any = jacobian(lambda x: sin(matmul(w, x)))(X)
    assert isinstance(jac, Variable)
    jac.sum().backward()
    # NOTE: J = diag(cos(w x)) w; its sum by w_ij: cos(w x)_i - sin(w x)_i x_j sum_k w_ik
    wx = w.data @ X
    expected = np.cos(wx)[:, None] - np.sin(wx)[:, None] * X * w.data.sum(axis=1)[:, None]
    np.testing.assert_allclose(grad_of(w), expected, rtol=1e-13)


def test_nested_jacobians_give_the_hessian() -> None:
    modes: list[tuple[Literal["rev", "fwd"], Literal["rev", "fwd"]]] = [
        ("fwd", "fwd"),
        ("fwd", "rev"),
        ("rev", "fwd"),
    ]
    for outer, inner in modes:
        h = jacobian(jacobian(cubic, mode=inner), mode=outer)(X)
        np.testing.assert_allclose(h, cubic_hessian(X), rtol=1e-14, err_msg=f"{outer} of {inner}")


def test_batch_norm_in_training_updates_its_running_averages_once_per_call() -> None:
    x0 = RNG.standard_normal((4, 3))
    gamma, beta = RNG.uniform(0.5, 2.0, 3), RNG.standard_normal(3)
    once_mean, once_var = np.zeros(3), np.ones(3)
    batch_norm(x0, gamma, beta, once_mean, once_var)

    def normalized(mean: Array, var: Array) -> Callable[[Variable], Variable]:
        return lambda x: batch_norm(x, gamma, beta, mean, var)

    def squares(f: Callable[[Variable], Variable]) -> Callable[[Variable], Variable]:
        return lambda x: (f(x) ** 3).sum()

    transforms: list[Callable[[Callable[[Variable], Variable]], Callable[..., Any]]] = [
        lambda f: jacobian(f, mode="fwd"),
        lambda f: jacobian(f, mode="rev"),
        lambda f: hessian(squares(f)),
    ]
    for transform in transforms:
        mean, var = np.zeros(3), np.ones(3)
        transform(normalized(mean, var))(x0)
        np.testing.assert_array_equal(mean, once_mean)
        np.testing.assert_array_equal(var, once_var)


def test_dropout_draws_one_mask_per_call() -> None:
    x0 = RNG.standard_normal((4, 3))
    np.random.seed(7)  # noqa: NPY002  # NOTE: the global state dropout reads, on purpose
    forward = jacobian(dropout, mode="fwd")(x0)
    np.random.seed(7)  # noqa: NPY002
    reverse = jacobian(dropout, mode="rev")(x0)
    np.random.seed(7)  # noqa: NPY002
    mask = dropout(np.ones((4, 3))).data.ravel()
    np.testing.assert_array_equal(forward, reverse)
    np.testing.assert_array_equal(forward.reshape(12, 12), np.diag(mask))
    np.random.seed(7)  # noqa: NPY002
    np.testing.assert_array_equal(
        hessian(lambda x: (dropout(x) ** 2).sum())(x0).reshape(12, 12), np.diag(2 * mask**2)
    )


def test_above_the_memory_limit_a_jacobian_works_in_chunks() -> None:
    calls = 0

    def counted(x: Variable) -> Variable:
        nonlocal calls
        calls += 1
        return sin(x) * x.sum()

    x0 = RNG.standard_normal(10)
    whole = jacobian(counted, mode="fwd")(x0)
    assert calls == 1
    calls = 0
    with using_config("max_batch_bytes", 4 * x0.nbytes):  # NOTE: 4 tangents of x0 a pass
        np.testing.assert_array_equal(jacobian(counted, mode="fwd")(x0), whole)
        assert calls == 3
        np.testing.assert_allclose(jacobian(counted)(x0), whole, rtol=1e-14)
        np.testing.assert_allclose(
            hessian(lambda x: counted(x).sum())(x0), hessian(lambda x: counted(x).sum())(x0)
        )
    assert Config.max_batch_bytes == 2**28


def test_chunks_are_refused_to_a_function_with_state_or_randomness() -> None:
    x0 = RNG.standard_normal((4, 3))
    mean, var = np.zeros(3), np.ones(3)

    def normalized(x: Variable) -> Variable:
        return batch_norm(x, np.ones(3), np.zeros(3), mean, var)

    limit = 5 * x0.nbytes
    with (
        using_config("max_batch_bytes", limit),
        pytest.raises(ValueError, match="once per pass") as refused,
    ):
        jacobian(normalized, mode="fwd")(x0)
    message = str(refused.value)
    assert "normalized updates its running averages (batch_norm in training mode)" in message
    assert "needs 3 passes of at most 5 tangents each" in message
    assert f"Config.max_batch_bytes = {limit:,}" in message
    assert "using_config('max_batch_bytes', 1152)" in message
    with using_config("max_batch_bytes", 1152):
        jacobian(normalized, mode="fwd")(x0)
    with (
        using_config("max_batch_bytes", limit),
        pytest.raises(ValueError, match=r"<lambda> draws random numbers \(dropout's mask\)"),
    ):
        hessian(lambda x: (dropout(x) ** 2).sum())(x0)
    # NOTE: the reverse mode's chunks are reverse passes: they call the function once
    mean[:], var[:] = 0.0, 1.0
    with using_config("max_batch_bytes", 8):
        jacobian(normalized, mode="rev")(x0)
    once_mean, once_var = np.zeros(3), np.ones(3)
    batch_norm(x0, np.ones(3), np.zeros(3), once_mean, once_var)
    np.testing.assert_array_equal(mean, once_mean)


def test_the_memory_limit_is_a_positive_int() -> None:
    with pytest.raises(TypeError, match=r"'max_batch_bytes' takes an int, not 1\.5"):
        using_config("max_batch_bytes", 1.5).__enter__()  # type: ignore[arg-type]  # NOTE: refused
    with pytest.raises(ValueError, match="'max_batch_bytes' must be positive, not 0"):
        using_config("max_batch_bytes", 0).__enter__()


def test_indexing_a_batch_with_integer_arrays_apart() -> None:
    # NOTE: NumPy moves the axes of integer arrays separated by a slice to the front: ahead of a
    # batch axis in front, so the rule indexes with the batch axis last
    x0 = RNG.standard_normal((2, 3, 4))
    for idx in ([0, 1], ..., [1, 2]), ([1, 0], slice(None), [3, 3]), (0, slice(None), [1, 2]):
        batch = [RNG.standard_normal((2, 2, 3, 4))]
        f = lambda x, idx=idx: get_item(x, idx)  # noqa: E731
        _, tangents = jvp(f, (x0,), batch, batched=True)
        np.testing.assert_array_equal(tangents, np.stack([t[idx] for t in batch[0]]))


def test_products_with_a_constant_operand() -> None:
    w = RNG.standard_normal((3, 5))
    batch = [RNG.standard_normal((6, 2, 3))]
    x0 = RNG.standard_normal((2, 3))
    for f in (
        lambda x: matmul(x, w),
        lambda x: linear(x, w, np.ones(5)),
        lambda x: stack([x, x]) @ w,
    ):
        _, tangents = jvp(f, (x0,), batch, batched=True)
        np.testing.assert_allclose(tangents, _separately(f, [x0], batch), rtol=1e-14)


def test_zero_tangents_are_the_ones_forward_mode_makes_up() -> None:
    seen: list[bool] = []

    class Probe(Function):
        batched_jvp = True

        def forward(self, x0: Array, x1: Array) -> Array:
            return x0 * x1

        def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
            return gy * x1, gy * x0

        def jvp(self, t0: Tensor, t1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
            seen.extend([is_zero_tangent(t0), is_zero_tangent(t1), batched(t0, x0)])
            return t0 * x1 + x0 * t1

    jvp(lambda x: Probe()(x, X), (X,), (np.zeros((2, 3)),), batched=True)
    jvp(lambda x: Probe()(x, X), (X,), (np.zeros(3),))
    assert seen == [False, True, True, False, True, False]
    assert not is_zero_tangent(np.broadcast_to(0.0, (3,)))


def test_a_batch_of_one_and_of_none() -> None:
    for size in (1, 0):
        batch = [np.ones((size, 3))]
        _, tangents = jvp(
            lambda x: mean(Sin()(x) * x, axis=0, keepdims=True), (X,), batch, batched=True
        )
        assert tangents.shape == (size, 1)
