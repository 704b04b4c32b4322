"""Hypothesis profiles: ``ci`` (chosen when CI is set), ``dev`` (the default) and ``fuzz``.

Select one with ``HYPOTHESIS_PROFILE=fuzz pytest -m properties`` or
``pytest --hypothesis-profile=fuzz``.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=100, database=None)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile("fuzz", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
