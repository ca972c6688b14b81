"""Retry decisions (safe, ambiguous, final): the public names of
:mod:`xportcn_async._core.retry`."""

from ._core.retry import (
    AMBIGUOUS_STATUSES,
    SAFE_STATUSES,
    Decision,
    ErrorKind,
    RetryPolicy,
    classify,
    decide,
)

__all__ = [
    "AMBIGUOUS_STATUSES",
    "SAFE_STATUSES",
    "Decision",
    "ErrorKind",
    "RetryPolicy",
    "classify",
    "decide",
]
