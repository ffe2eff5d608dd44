"""Suite-wide settings: hypothesis never fails a test for being slow on a loaded 2-core CI machine.

On CI (``CI`` set) examples are derandomized, so a run is reproducible and a red build is
never the luck of a seed; locally each run explores new examples. ``HYPOTHESIS_PROFILE=dev``
or ``=ci`` picks one explicitly.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
