"""The Python client of Tenure: `TenureClient`, the only door to a journey, and its typed errors."""

from .errors import JourneyError, JourneyFailed, JourneyRefused, JourneyUnavailable, NoJourney, TemporalRejected
from .tenure_client import TenureClient, start_input

__all__ = [
    "JourneyError",
    "JourneyFailed",
    "JourneyRefused",
    "JourneyUnavailable",
    "NoJourney",
    "TemporalRejected",
    "TenureClient",
    "start_input",
]
