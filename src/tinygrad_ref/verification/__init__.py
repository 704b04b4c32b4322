"""The proof: everything that checks the library, apart from the library itself.

* :mod:`~tinygrad_ref.verification.oracle`: numerical derivatives, each with a bound on its
  error;
* :mod:`~tinygrad_ref.verification.checks`: the checks that compare a rule against the oracle
  (``gradcheck`` and its kin);
* :mod:`~tinygrad_ref.verification.rules`: ``check_vjp`` and ``check_jvp``, the same checks of
  a rule someone wrote for a plain NumPy function, arrays in;
* :mod:`~tinygrad_ref.verification.whose`: whose derivative a check looked at;
* :mod:`~tinygrad_ref.verification.strategies`: Hypothesis strategies and the per-op
  verification built on them (needs the ``testing`` extra);
* :mod:`~tinygrad_ref.verification.mutants`: planted wrong rules, to show what the checks catch;
* :mod:`~tinygrad_ref.verification.accuracy`: value and derivative accuracy in ULPs against
  mpmath over the whole float range;
* :mod:`~tinygrad_ref.verification.plots`: those errors drawn across the float range (needs
  the ``plot`` extra);
* :mod:`~tinygrad_ref.verification.layers`: DeZero's layers checked as functions of their
  inputs, parameters and state;
* :mod:`~tinygrad_ref.verification.terminal`: what the tables share: the progress line,
  plurals, legends.

The library (core, ops, transforms, interop, and the framework above the ops: layers, models,
optimizers) imports none of it.
"""
