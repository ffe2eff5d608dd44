"""Kept so 0.1.0 imports work; new code imports from mock_amojo.testing."""

from .testing._conformance import (
    AMOJO_TIMEOUT,
    Check,
    Outcome,
    Probe,
    Report,
    assert_receiver_conforms,
    battery,
    check_receiver,
    report_json,
)

__all__ = [
    "AMOJO_TIMEOUT",
    "Check",
    "Outcome",
    "Probe",
    "Report",
    "assert_receiver_conforms",
    "battery",
    "check_receiver",
    "report_json",
]
