"""The Python client of Tenure: `TenureClient`, the only door to a journey, and its typed errors."""

from .errors import JourneyError, JourneyFailed, JourneyRefused, JourneyUnavailable, NoJourney, TemporalRejected
from .health import JourneyHealth, Retrying
from .tenure_client import TenureClient, start_input

__all__ = [
    "JourneyError",
    "JourneyFailed",
    "JourneyHealth",
    "JourneyRefused",
    "JourneyUnavailable",
    "NoJourney",
    "Retrying",
    "TemporalRejected",
    "TenureClient",
    "start_input",
]
