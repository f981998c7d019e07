"""Strata for Python services: resolved config, feature flags and secrets from an in-process
cache kept current by the change stream. Standard library only."""

from ._http import SecretNotFound, StrataError, StrataUnavailable
from .client import Change, FlagDetails, StrataClient, ValueDetails

__all__ = [
    "Change",
    "FlagDetails",
    "SecretNotFound",
    "StrataClient",
    "StrataError",
    "StrataUnavailable",
    "ValueDetails",
]
__version__ = "0.1.0"
