"""Non-smooth ops: drawn operands keep out of the numerical oracle's reach of every kink, and
the calls drawn on a kink really sit on it."""

import math

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from tinygrad_ref import Variable
from tinygrad_ref.ops import normalize_axes
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import (
    SPECTRUM_GAP,
    Params,
    PointKink,
    SingularKink,
    SpectralKink,
    TieKink,
    WindowTieKink,
    spectrum_floor,
)
from tinygrad_ref.verification.oracle import oracle_reach
from tinygrad_ref.verification.strategies import (
    KINK_MARGIN,
    Example,
    check_example,
    check_forward_example,
    condition,
    examples,
    kink_examples,
    tiny_examples,
)

pytestmark = pytest.mark.properties

KINKED = sorted(name for name, spec in REGISTRY.items() if spec.kink is not None)
TIED = [name for name in KINKED if isinstance(REGISTRY[name].kink, TieKink)]
WINDOWED = [name for name in KINKED if isinstance(REGISTRY[name].kink, WindowTieKink)]
SPECTRAL = [name for name in KINKED if isinstance(REGISTRY[name].kink, SpectralKink)]


def values(x: object) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Variable) else x, dtype=np.float64)


def raw(x: object) -> np.ndarray:
    """The data of an operand in its own dtype."""
    return np.asarray(x.data if isinstance(x, Variable) else x)


def assert_out_of_reach(
    a: np.ndarray, b: np.ndarray, reach_a: np.ndarray, reach_b: np.ndarray
) -> None:
    """No central-difference step from an element of ``a`` or of ``b`` (broadcast together),
    nor one from each at once, reaches the other. The reaches are the oracle's, each element's
    in its own operand's array (the steps follow that array's scale)."""
    a, b, reach_a, reach_b = np.broadcast_arrays(a, b, reach_a, reach_b)
    gap, reach = np.abs(a - b), reach_a + reach_b
    assert np.all(gap > reach), f"gaps {gap[gap <= reach]} within the reach {reach[gap <= reach]}"


def reduced_together(x: np.ndarray, axis: int | tuple[int, ...] | None) -> np.ndarray:
    """The elements of ``x`` a reduction over ``axis`` compares, one group per row."""
    axes = normalize_axes(axis, x.shape)
    last = tuple(range(x.ndim - len(axes), x.ndim))
    together = math.prod(x.shape[a] for a in axes)
    return np.moveaxis(x, axes, last).reshape(x.size // together if together else 0, together)


@pytest.mark.parametrize("name", KINKED)
@settings(max_examples=25)
@given(data=st.data())
def test_drawn_operands_keep_out_of_the_oracles_reach_of_the_kink(
    name: str, data: st.DataObject
) -> None:
    assert_kept_apart(data.draw(examples(REGISTRY[name])))


@pytest.mark.parametrize("name", KINKED)
@settings(max_examples=25)
@given(data=st.data())
def test_operands_down_to_subnormal_numbers_keep_out_of_reach_and_pass(
    name: str, data: st.DataObject
) -> None:
    """Where an array's rms underflows, a zero's step is 1 beside values of 1e-308 (the
    oracle's quirk the margins follow): the control run of ``verify --mutants`` failed on
    ``maximum([[-2.2e-308, 0, 0]], -3.6e-297)``, whose margins were merged wrongly."""
    example: Example = data.draw(tiny_examples(REGISTRY[name]))
    assert_kept_apart(example)
    check_example(example)
    check_forward_example(example)


def assert_kept_apart(example: Example) -> None:
    """No step of the oracle from an operand of ``example`` reaches its op's kink."""
    kink = example.spec.kink
    operands = [values(x) for x in example.operands]
    if isinstance(kink, SpectralKink):
        assert_spectrum_apart(kink, raw(example.operands[0]), example.params)
    elif isinstance(kink, SingularKink):
        # NOTE: a step moves the singular values (eigenvalues) by at most its Frobenius norm
        a = operands[0]
        assert np.all(condition(a, kink) <= kink.max_condition)
        smallest = (
            np.linalg.eigvalsh(a, UPLO="L")[..., 0]
            if kink.definite
            else np.linalg.svd(a, compute_uv=False)[..., -1]
        )
        steps = np.sqrt(np.sum(oracle_reach(a) ** 2, axis=(-2, -1)))
        assert np.all(smallest > KINK_MARGIN * steps), (smallest, steps)
    elif isinstance(kink, PointKink):
        # NOTE: a kink point is no input: only the operand's own steps, in its array, count
        reach = oracle_reach(operands[0])
        for point in kink.points(example.params):
            gap = np.abs(operands[0] - point)
            assert np.all(gap > reach), f"gaps {gap[gap <= reach]} within the reach {reach}"
    elif isinstance(kink, TieKink) and kink.among == "operands":
        reaches = [oracle_reach(x) for x in operands]
        assert_out_of_reach(operands[0], operands[1], reaches[0], reaches[1])
    else:
        groups = compared_together(example, operands[0])
        reaches = compared_together(example, oracle_reach(operands[0]))
        for row, reach in zip(groups, reaches, strict=True):
            others = ~np.eye(row.size, dtype=bool)
            pairs = np.broadcast_arrays(row[:, None], row[None, :])
            reach_pairs = np.broadcast_arrays(reach[:, None], reach[None, :])
            assert_out_of_reach(
                pairs[0][others], pairs[1][others], reach_pairs[0][others], reach_pairs[1][others]
            )


def assert_spectrum_apart(kink: SpectralKink, x: np.ndarray, params: Params) -> None:
    """Each spectrum of ``x`` keeps its values (and, for singular values, the smallest from 0)
    farther apart than a step of the oracle moves them (a step ``h`` in every element moves
    each by at most ``n h``), at least half :data:`SPECTRUM_GAP` of its largest, and at least
    half the floor of ``x``'s dtype."""
    if x.size == 0:
        return
    s = kink.spectrum(x.astype(np.float64), params)
    gaps = np.diff(s, axis=-1)
    if kink.zero:
        gaps = np.concatenate([s[..., :1], gaps], axis=-1)
    moved = 2 * max(x.shape[-2:]) * float(np.max(oracle_reach(x)))
    largest = np.max(np.abs(s), axis=-1, keepdims=True)
    assert np.all(gaps > moved), f"spectra {s}: gaps within the oracle's reach {moved}"
    assert np.all(gaps >= SPECTRUM_GAP / 2 * largest), f"spectra {s} closer than the margin"
    assert np.all(gaps >= spectrum_floor(x.dtype) / 2), f"spectra {s} closer than the floor"


def compared_together(example: Example, x: np.ndarray) -> list[np.ndarray]:
    """The groups of elements of ``x`` (operand 0, or an array of its shape) an op compares:
    along an axis, or in a window."""
    kink = example.spec.kink
    if isinstance(kink, WindowTieKink):
        flat = x.reshape(-1)
        return [flat[window[window >= 0]] for window in kink.windows(example.params, x.shape)]
    return list(reduced_together(x, example.params["axis"]))


def has_a_tie(example: Example) -> bool:
    """Whether an output element of the call is selected from several equal elements."""
    operands = [values(x) for x in example.operands]
    kink = example.spec.kink
    assert isinstance(kink, TieKink)
    if kink.among == "operands":
        return bool(np.any(operands[0] == operands[1]))
    rows = reduced_together(operands[0], example.params["axis"])
    if not rows.size:
        return False
    extremes = (rows.max(axis=1, keepdims=True), rows.min(axis=1, keepdims=True))
    return all(bool(np.any(np.sum(rows == e, axis=1) > 1)) for e in extremes)


@pytest.mark.parametrize("name", TIED)
def test_the_tie_strategy_draws_ties(name: str) -> None:
    find(kink_examples(REGISTRY[name]), has_a_tie)


def has_a_tied_maximum(example: Example) -> bool:
    """Whether some window's maximum is held by several of its elements."""
    return any(
        np.sum(row == row.max()) > 1
        for row in compared_together(example, values(example.operands[0]))
    )


@pytest.mark.parametrize("name", WINDOWED)
def test_the_window_tie_strategy_draws_ties(name: str) -> None:
    find(kink_examples(REGISTRY[name]), has_a_tied_maximum)


@pytest.mark.parametrize("name", SPECTRAL)
def test_the_spectral_strategy_draws_degenerate_spectra(name: str) -> None:
    kink = REGISTRY[name].kink
    assert isinstance(kink, SpectralKink)
    find(
        kink_examples(REGISTRY[name]),
        lambda example: kink.is_degenerate(raw(example.operands[0]), example.params),
    )


@pytest.mark.parametrize("name", SPECTRAL)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_a_spectrum_tied_to_zeros_is_no_zero_matrix(name: str, uplo: str) -> None:
    """The two smallest of ``[0, 0.5]`` tied are ``[0, 0]``, a zero matrix, where the probe's
    scale (the spectrum's rms) has a kink of its own: seed 7 drew it for eigh."""
    kink = REGISTRY[name].kink
    assert isinstance(kink, SpectralKink)
    params = {"UPLO": uplo}
    x = np.array([[0.0, 0.0], [0.0, 0.5]])
    tied = kink.degenerate(x, params)
    spectrum = kink.spectrum(tied, params)
    assert kink.is_degenerate(tied, params), f"{spectrum} is not degenerate"
    assert np.max(np.abs(spectrum)) > 0, f"{x} tied to the zero matrix {tied}"
