import inspect

import numpy as np
import pytest

import tinygrad_ref
from tinygrad_ref import REGISTRY, Function, Variable
from tinygrad_ref.ops.reduction import Reduction, Sum
from tinygrad_ref.spec import Domain

OPERATOR_METHODS = {
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
    "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__",
    "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__neg__", "__pos__", "__abs__",
    "__getitem__",
}  # fmt: skip


def package_functions() -> set[type[Function]]:
    found: set[type[Function]] = set()
    stack = [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            # NOTE: the proof's own Functions (check_vjp's adapter of a rule) are no ops
            if sub.__module__.startswith("tinygrad_ref.") and not sub.__module__.startswith(
                "tinygrad_ref.verification."
            ):
                found.add(sub)
    return found


def is_abstract(f: type[Function]) -> bool:
    """Whether ``f`` has no reverse rule of its own or inherited below Function: a base class
    of ops (``Reduction``), which cannot be differentiated and needs no spec."""
    return not f.uses_vjp and f.backward is Function.backward


def test_every_function_of_the_package_has_a_spec() -> None:
    specified = {spec.primitive for spec in REGISTRY.values()}
    concrete = {f for f in package_functions() if not is_abstract(f)}
    missing = {f.__qualname__ for f in concrete - specified}
    assert not missing, f"Function subclasses without a spec in REGISTRY: {sorted(missing)}"


def test_a_base_class_of_ops_is_told_from_an_op() -> None:
    assert is_abstract(Reduction)
    assert not is_abstract(Sum)


def test_every_operator_of_variable_is_backed_by_a_spec() -> None:
    defined = OPERATOR_METHODS & set(vars(Variable))
    backed = {name for spec in REGISTRY.values() for name in spec.operators}
    assert defined - backed == set()
    assert backed <= defined


def test_specs_are_consistent() -> None:
    for name, spec in REGISTRY.items():
        assert spec.name == name
        assert len(spec.operand_roles) == spec.arity
        assert callable(spec.function)
        assert inspect.isclass(spec.primitive)


def test_the_registry_is_read_only_and_exported() -> None:
    assert tinygrad_ref.REGISTRY is REGISTRY
    with pytest.raises(TypeError):
        REGISTRY["add"] = REGISTRY["sub"]  # type: ignore[index]  # NOTE: the point is the runtime check


def test_domain_membership() -> None:
    domain = Domain(-3.0, 3.0, min_abs=0.5)
    assert domain.contains(np.array([-3.0, -0.5, 0.5, 3.0]))
    assert not domain.contains(np.array([0.25]))
    assert not domain.contains(3.5)
    assert Domain(-3.0, 3.0, integer=True).contains([-2.0, 1.0])
    assert not Domain(-3.0, 3.0, integer=True).contains(1.5)


def test_an_empty_domain_is_refused() -> None:
    with pytest.raises(ValueError, match="empty domain"):
        Domain(1.0, 0.0)
    with pytest.raises(ValueError, match="empty domain"):
        Domain(-1.0, 1.0, min_abs=2.0)
