from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# No deadline and no too_slow health check: both are wall-clock limits, which a
# loaded machine can break; the properties run in virtual time anyway.
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Show the figures that tests record (record_property) at the end of the run."""
    for report in terminalreporter.stats.get("passed", []):
        for name, value in getattr(report, "user_properties", []):
            terminalreporter.write_line(f"{report.nodeid}: {name} = {value}")
