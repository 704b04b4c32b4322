"""The gradient checks, under their documented name: numerical derivatives with an error bound
(the oracle) and the checks that compare a rule against them. They live in
:mod:`tinygrad_ref.verification`; this module re-exports the public ones."""

from tinygrad_ref.verification.checks import (
    Flagged,
    GradcheckError,
    GradcheckReport,
    GradcheckWarning,
    Mismatch,
    check_gradients,
    check_second_gradients,
    gradcheck,
    gradgradcheck,
)
from tinygrad_ref.verification.oracle import (
    ComplexStepUnderflowError,
    Estimate,
    ecnoise,
    first_steps,
    granularity,
    numerical_directional,
    numerical_estimates,
    numerical_grad,
    numerical_jacobian,
    step_scale,
)
from tinygrad_ref.verification.rules import (
    RuleReport,
    check_jvp,
    check_vjp,
    jvpcheck,
    vjpcheck,
)

__all__ = [
    "ComplexStepUnderflowError",
    "Estimate",
    "Flagged",
    "GradcheckError",
    "GradcheckReport",
    "GradcheckWarning",
    "Mismatch",
    "RuleReport",
    "check_gradients",
    "check_jvp",
    "check_second_gradients",
    "check_vjp",
    "ecnoise",
    "first_steps",
    "gradcheck",
    "gradgradcheck",
    "granularity",
    "jvpcheck",
    "numerical_directional",
    "numerical_estimates",
    "numerical_grad",
    "numerical_jacobian",
    "step_scale",
    "vjpcheck",
]
