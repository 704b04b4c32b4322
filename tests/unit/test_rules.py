"""check_vjp / check_jvp: a rule you wrote for a NumPy function, checked by the per-element
oracle. Each planted error sits in one element of a correct rule and must be caught there."""

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import tinygrad_ref as tg
from tinygrad_ref import (
    Array,
    Function,
    GradcheckError,
    Variable,
    check_gradients,
    check_jvp,
    check_vjp,
    gradcheck,
    jvpcheck,
    vjpcheck,
)
from tinygrad_ref.gradcheck import RuleReport

F64 = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]
RNG = np.random.default_rng(19)


def softmax(logits: F64) -> F64:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p: F64 = z / z.sum(axis=-1, keepdims=True)
    return p


def softmax_xent(logits: F64, labels: Labels) -> F64:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss: F64 = -logp[np.arange(len(labels)), labels].mean()
    return loss


def softmax_xent_vjp(g: F64, logits: F64, labels: Labels) -> F64:
    p = softmax(logits)
    p[np.arange(len(labels)), labels] -= 1
    grad: F64 = g * p / len(labels)
    return grad


def layer_norm(x: F64, gamma: F64, beta: F64) -> F64:
    mu = x.mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5)
    y: F64 = (x - mu) * rstd * gamma + beta
    return y


def layer_norm_vjp(g: F64, x: F64, gamma: F64, beta: F64) -> tuple[F64, F64, F64]:
    n = x.shape[-1]
    mu = x.mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5)
    xhat = (x - mu) * rstd
    gxhat = g * gamma
    gx = (
        rstd
        / n
        * (n * gxhat - gxhat.sum(-1, keepdims=True) - xhat * (gxhat * xhat).sum(-1, keepdims=True))
    )
    return gx, (g * xhat).sum(axis=0), g.sum(axis=0)


def matmul_vjp(g: F64, a: F64, b: F64) -> tuple[F64, F64]:
    return g @ b.T, a.T @ g


def matmul_jvp(t: tuple[F64, F64], a: F64, b: F64) -> F64:
    ta, tb = t
    out: F64 = ta @ b + a @ tb
    return out


def planted(grads: Any, where: tuple[int, ...], error: float, which: int = 0) -> Any:
    """``grads`` (an array or a tuple) with element ``where`` of number ``which`` off by a
    relative ``error``."""
    parts = list(grads) if isinstance(grads, tuple) else [grads]
    wrong = np.array(parts[which], dtype=np.float64)
    wrong[where] *= 1 + error
    parts[which] = wrong
    return tuple(parts) if isinstance(grads, tuple) else parts[0]


LOGITS = RNG.normal(size=(8, 10))
LABELS = RNG.integers(0, 10, size=8)
X, GAMMA, BETA = RNG.normal(size=(4, 6)), RNG.normal(size=6), RNG.normal(size=6)
A, B = RNG.normal(size=(3, 5)), RNG.normal(size=(5, 4))


# --- correct rules pass, planted errors are caught at their element ---------------------------


@pytest.mark.parametrize("fast", [False, True])
def test_correct_rules_pass(fast: bool) -> None:
    for report in (
        check_vjp(softmax_xent, softmax_xent_vjp, LOGITS, constants={"labels": LABELS}, fast=fast),
        check_vjp(layer_norm, layer_norm_vjp, X, GAMMA, BETA, fast=fast),
        check_vjp(np.matmul, matmul_vjp, A, B, fast=fast),
        check_jvp(np.matmul, matmul_jvp, A, B, fast=fast),
    ):
        assert report.failure is None, report.failure
        assert report.checked == report.elements > 0
        assert report.derivative.startswith("your ")


def test_one_element_of_a_softmax_cross_entropy_rule() -> None:
    def wrong(g: F64, logits: F64, labels: Labels) -> Any:
        return planted(softmax_xent_vjp(g, logits, labels), (5, 7), 1e-5)

    report = check_vjp(softmax_xent, wrong, LOGITS, constants={"labels": LABELS})
    assert report.failure is not None
    (mismatch,) = report.mismatches
    assert (mismatch.input, mismatch.index, mismatch.check) == (0, (5, 7), "correctness")
    assert mismatch.where == "input 0 (logits) at index (5, 7)"
    assert 0.5e-5 < mismatch.relative_error < 2e-5
    assert mismatch.margin > 2
    with pytest.raises(GradcheckError, match=r"input 0 \(logits\) at index \(5, 7\)(.|\n)*your"):
        vjpcheck(softmax_xent, wrong, LOGITS, constants={"labels": LABELS})


@pytest.mark.parametrize("which", [0, 1, 2])
def test_one_element_of_a_layer_norm_rule(which: int) -> None:
    where = [(2, 3), (4,), (1,)][which]

    def wrong(g: F64, x: F64, gamma: F64, beta: F64) -> Any:
        return planted(layer_norm_vjp(g, x, gamma, beta), where, 1e-5, which)

    report = check_vjp(layer_norm, wrong, X, GAMMA, BETA)
    assert report.failure is not None
    assert [(m.input, m.index) for m in report.mismatches] == [(which, where)]
    assert report.mismatches[0].where.startswith(f"input {which} ({['x', 'gamma', 'beta'][which]})")


def test_one_element_of_a_matmul_rule_reverse_and_forward() -> None:
    def wrong_vjp(g: F64, a: F64, b: F64) -> Any:
        return planted(matmul_vjp(g, a, b), (3, 2), 1e-7, 1)

    report = check_vjp(np.matmul, wrong_vjp, A, B, names=["A", "B"])
    assert [(m.input, m.index, m.where) for m in report.mismatches] == [
        (1, (3, 2), "input 1 (B) at index (3, 2)")
    ]

    def wrong_jvp(t: tuple[F64, F64], a: F64, b: F64) -> F64:
        ta, tb = t
        wrong: F64 = matmul_jvp((ta, tb), a, b) * (1 + 1e-7 * tb[3, 2])
        return wrong

    report = check_jvp(np.matmul, wrong_jvp, A, B)
    assert [(m.input, m.index) for m in report.mismatches] == [(1, (3, 2))]
    with pytest.raises(GradcheckError, match=r"input 1 \(x2\) at index \(3, 2\)"):
        jvpcheck(np.matmul, wrong_jvp, A, B)


def test_fast_mode_catches_a_planted_error_everywhere_and_reports_directions() -> None:
    def wrong(g: F64, a: F64, b: F64) -> Any:
        ga, gb = matmul_vjp(g, a, b)
        return ga * (1 + 1e-6), gb

    report = check_vjp(np.matmul, wrong, A, B, fast=True)
    assert report.mismatches
    assert report.mismatches[0].where.startswith("direction ")


def test_several_outputs_each_with_its_cotangent() -> None:
    def f(a: F64, b: F64) -> tuple[F64, F64]:
        return a * b, np.sin(a)

    def f_vjp(g: tuple[F64, F64], a: F64, b: F64) -> tuple[F64, F64]:
        g1, g2 = g
        return g1 * b + g2 * np.cos(a), g1 * a

    x, y = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
    assert check_vjp(f, f_vjp, x, y).failure is None

    def wrong(g: tuple[F64, F64], a: F64, b: F64) -> Any:
        return planted(f_vjp(g, a, b), (1, 0), 1e-6)

    report = check_vjp(f, wrong, x, y)
    assert [(m.input, m.index) for m in report.mismatches] == [(0, (1, 0))]

    def f_jvp(t: tuple[F64, F64], a: F64, b: F64) -> tuple[F64, F64]:
        ta, tb = t
        return ta * b + a * tb, np.cos(a) * ta

    assert check_jvp(f, f_jvp, x, y).failure is None


def test_second_order_rule_is_checked_and_its_errors_named() -> None:
    def f(x: F64) -> F64:
        return np.sin(x) * x

    def f_vjp(g: F64, x: F64) -> F64:
        return g * (np.cos(x) * x + np.sin(x))

    def second(ct: F64, g: F64, x: F64) -> F64:
        return ct * g * (2 * np.cos(x) - x * np.sin(x))

    x = RNG.normal(size=(3, 4))
    report = check_vjp(f, f_vjp, x, second=second)
    assert report.failure is None
    assert "and its derivative" in report.derivative

    def wrong(ct: F64, g: F64, x: F64) -> Any:
        return planted(second(ct, g, x), (2, 1), 1e-6)

    report = check_vjp(f, f_vjp, x, second=wrong)
    assert report.failure is not None
    assert report.failure.startswith("second derivatives: input 0 (x) at index (2, 1)")
    assert [(m.check, m.index) for m in report.mismatches] == [("second order", (2, 1))]

    def f_jvp(t: F64, x: F64) -> F64:
        return t * (np.cos(x) * x + np.sin(x))

    def second_jvp(t2: F64, t: F64, x: F64) -> F64:
        return t2 * t * (2 * np.cos(x) - x * np.sin(x))

    assert check_jvp(f, f_jvp, x, second=second_jvp).failure is None


def test_float32_arrays_are_checked_in_float32_and_a_rule_imprecise_there_fails() -> None:
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    report = check_vjp(np.tanh, lambda g, x: g * (1 - np.tanh(x) ** 2), x)
    assert report.failure is None
    assert report.resolution > 1e-8

    def cancelling(g: F64, x: F64) -> F64:
        grad: F64 = g * ((x + 1) ** 2 - (x - 1) ** 2) / 2
        return grad

    large = np.array([3000.3, -2000.7, 1500.1], dtype=np.float32)
    report = check_vjp(np.square, cancelling, large)
    assert report.failure is not None
    assert {m.check for m in report.mismatches} == {"precision"}
    assert check_vjp(np.square, cancelling, large.astype(np.float64)).failure is None


def test_a_sampled_check_judges_its_elements_and_estimates_the_full_time() -> None:
    report = check_vjp(
        softmax_xent, softmax_xent_vjp, LOGITS, constants={"labels": LABELS}, sample=12, seed=3
    )
    assert isinstance(report, RuleReport)
    assert (report.checked, report.elements) == (12, LOGITS.size)
    judged = np.isfinite(report.resolutions[0])
    assert judged.shape == LOGITS.shape
    assert judged.sum() == 12
    assert report.full_seconds == pytest.approx(report.seconds * LOGITS.size / 12)
    where = tuple(int(i) for i in np.argwhere(judged)[5])

    def wrong(g: F64, logits: F64, labels: Labels) -> Any:
        return planted(softmax_xent_vjp(g, logits, labels), where, 1e-5)

    report = check_vjp(softmax_xent, wrong, LOGITS, constants={"labels": LABELS}, sample=12, seed=3)
    assert [(m.input, m.index) for m in report.mismatches] == [(0, where)]
    assert report.failure is not None
    assert report.failure.startswith(f"input 0 (logits) at index {where}")


def test_a_sample_over_several_arrays_and_a_jvp_rule_called_only_for_it() -> None:
    calls = 0

    def counted(t: tuple[F64, F64], a: F64, b: F64) -> F64:
        nonlocal calls
        calls += 1
        return matmul_jvp(t, a, b)

    report = check_jvp(np.matmul, counted, A, B, sample=4)
    assert report.failure is None
    assert sum(int(np.isfinite(r).sum()) for r in report.resolutions) == 4
    assert [r.shape for r in report.resolutions] == [A.shape, B.shape]
    assert calls <= 2 * 4


# --- whose derivative ---------------------------------------------------------------------------


def test_gradcheck_of_numpy_code_on_variables_says_it_checked_the_librarys_derivative() -> None:
    on_variables: Any = softmax_xent  # NOTE: NumPy code, run on Variables by NumPy's dispatch
    report = check_gradients(lambda x: on_variables(x, LABELS), Variable(LOGITS))
    assert report.failure is None
    assert report.derivative.startswith("the library's own derivative of the ops fn ran (")
    assert "not a rule you wrote" in report.derivative

    class Cube(Function):
        def forward(self, x: Array) -> Array:
            return x**3

        def backward(self, gy: Variable) -> Variable:
            (x,) = self.inputs
            return gy * 3 * x**2

    report = check_gradients(lambda x: Cube()(x), Variable(np.array([0.5, 2.0])))
    assert report.derivative.startswith("your Function's rules (")
    assert "Cube" in report.derivative

    class WrongCube(Cube):
        def backward(self, gy: Variable) -> Variable:
            (x,) = self.inputs
            return gy * 3.001 * x**2

    with pytest.raises(GradcheckError, match=r"\(the derivative checked: your Function's rules "):
        gradcheck(lambda x: tg.exp(WrongCube()(x)), Variable(np.array([0.5, 2.0])))


# --- bad input ----------------------------------------------------------------------------------


def test_bad_input_is_refused_with_a_clear_message() -> None:
    def f(x: F64) -> F64:
        return x * 2

    def f_vjp(g: F64, x: F64) -> F64:
        return g * 2

    x = np.ones(3)
    bad: Any = Variable(x)
    wrong: Any = [1]
    number: Any = 0.5
    cases: list[tuple[type[Exception], str, Any]] = [
        (TypeError, r"array 0 \(x\) is a Variable", lambda: check_vjp(f, f_vjp, bad)),
        (TypeError, r"array 0 \(x\) has dtype int64", lambda: check_vjp(f, f_vjp, np.arange(3))),
        (ValueError, "nothing to check", lambda: check_vjp(f, f_vjp)),
        (TypeError, "f_vjp must be callable", lambda: check_vjp(f, number, x)),
        (TypeError, "constants must be a mapping", lambda: check_vjp(f, f_vjp, x, constants=wrong)),
        (
            ValueError,
            "names must give one name per array",
            lambda: check_vjp(f, f_vjp, x, names="x"),
        ),
        (ValueError, "sample must be at least 1", lambda: check_vjp(f, f_vjp, x, sample=0)),
        (TypeError, "sample must be an int", lambda: check_vjp(f, f_vjp, x, sample=number)),
        (
            ValueError,
            "f_vjp returned 2 gradients for 1 arrays",
            lambda: check_vjp(f, lambda g, x: (g, g), x),
        ),
        (
            ValueError,
            r"f_vjp returned a gradient of shape \(1,\) for array 0 \(x\) of shape \(3,\)",
            lambda: check_vjp(f, lambda g, x: g[:1], x),
        ),
        (
            ValueError,
            r"f_jvp returned a tangent of shape \(2,\) for output 0 of f, of shape \(3,\)",
            lambda: check_jvp(f, lambda t, x: t[:2], x),
        ),
        (
            TypeError,
            "f must return a floating array or a tuple of them; output 0 is a list",
            lambda: check_vjp(lambda x: [1.0], f_vjp, x),
        ),
        (
            TypeError,
            "output 0 of f has dtype int64",
            lambda: check_vjp(lambda x: np.arange(3), f_vjp, x),
        ),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=message):
            call()


# --- frameworks, when installed -----------------------------------------------------------------


def test_a_torch_function_with_a_wrong_backward_is_caught_at_its_element() -> None:
    torch = pytest.importorskip("torch", reason="checking a torch.autograd.Function needs torch")

    torch_function: Any = torch.autograd.Function

    class Softplus(torch_function):  # type: ignore[misc]  # NOTE: its base is Any to mypy
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return torch.nn.functional.softplus(x)

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            grad = g * torch.sigmoid(x)
            grad[1, 2] *= 1 + 1e-6
            return grad

    def f(x: F64) -> Any:
        return Softplus.apply(torch.tensor(x)).detach().numpy()

    def f_vjp(g: F64, x: F64) -> Any:
        t = torch.tensor(x, requires_grad=True)
        (grad,) = torch.autograd.grad(Softplus.apply(t), t, torch.tensor(g))
        return grad.numpy()

    x = RNG.normal(size=(3, 4))
    report = check_vjp(f, f_vjp, x)
    assert [(m.input, m.index, m.check) for m in report.mismatches] == [(0, (1, 2), "correctness")]
    assert report.derivative.startswith("your vjp rule ")


def test_a_rule_that_writes_into_its_arguments_changes_nothing_of_the_check() -> None:
    def f(x: F64) -> F64:
        y: F64 = x**2
        x[...] = 0  # NOTE: in place, on purpose
        return y

    def f_vjp(g: F64, x: F64) -> F64:
        grad: F64 = g * 2 * x
        x *= 3
        return grad

    def f_jvp(t: F64, x: F64) -> F64:
        tangent: F64 = 2 * x * t
        x *= 3
        return tangent

    x = RNG.normal(size=(3, 2))
    before = x.copy()
    assert check_vjp(f, f_vjp, x).failure is None
    assert check_jvp(f, f_jvp, x).failure is None
    np.testing.assert_array_equal(x, before)


def test_a_jax_custom_vjp_with_a_wrong_backward_is_caught_at_its_element() -> None:
    jax = pytest.importorskip("jax", reason="checking a jax.custom_vjp needs jax")
    jax.config.update("jax_enable_x64", True)

    def plain(x: Any) -> Any:
        return jax.numpy.logaddexp(x, 0.0)

    softplus = jax.custom_vjp(plain)

    def forward(x: Any) -> Any:
        return softplus(x), x

    def backward(x: Any, g: Any) -> Any:
        return ((g * jax.nn.sigmoid(x)).at[2, 0].multiply(1 + 1e-6),)

    softplus.defvjp(forward, backward)

    def f_vjp(g: F64, x: F64) -> Any:
        _, pullback = jax.vjp(softplus, x)
        return np.asarray(pullback(g)[0])

    x = RNG.normal(size=(3, 4))
    report = check_vjp(lambda x: np.asarray(softplus(x)), f_vjp, x)
    assert [(m.input, m.index, m.check) for m in report.mismatches] == [(0, (2, 0), "correctness")]
