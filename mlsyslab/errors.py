"""One exception hierarchy for the whole package.

``MLSysError`` is the root; catch it to handle anything mlsyslab raises on purpose.
``ValidationError`` also subclasses ``ValueError`` so generic code that expects
``ValueError`` for bad arguments keeps working.
"""

from __future__ import annotations


class MLSysError(Exception):
    """Base class of every error mlsyslab raises deliberately."""


class ValidationError(MLSysError, ValueError):
    """An input was rejected. The message names the field, the value and what is allowed.

    Attributes
    ----------
    field : str | None
        Name (or dotted path) of the offending argument.
    value : object
        The value that was given.
    allowed : str | None
        Human-readable description of what would have been accepted.
    """

    def __init__(self, message: str, *, field: str | None = None, value=None, allowed: str | None = None):
        super().__init__(message)
        self.field = field
        self.value = value
        self.allowed = allowed


class UnknownNameError(ValidationError, KeyError):
    """A zoo look-up failed; the message carries "did you mean" suggestions."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0] if self.args else ""


class UnknownAttributeError(UnknownNameError, AttributeError):
    """``obj.<typo>`` on a registry, a result or a sweep: an UnknownNameError that is also an
    AttributeError, so ``hasattr`` and ``getattr(obj, name, default)`` keep working."""


class OOMError(MLSysError):
    """A configuration does not fit in device memory.

    Attributes
    ----------
    required_bytes, capacity_bytes : float
        What the configuration needs per device and what the device holds.
    """

    def __init__(self, message: str, *, required_bytes: float = float("nan"), capacity_bytes: float = float("nan")):
        super().__init__(message)
        self.required_bytes = required_bytes
        self.capacity_bytes = capacity_bytes

    @property
    def overflow_bytes(self) -> float:
        """How many bytes the configuration is over capacity."""
        return self.required_bytes - self.capacity_bytes


class SLAViolation(MLSysError):
    """A scenario missed a service-level objective (raised with ``strict=True``).

    Attributes
    ----------
    metric : str
        The violated limit (e.g. ``"ttft"``).
    predicted, limit : object
        The predicted figure and the limit it broke (quantities).
    """

    def __init__(self, message: str, *, metric: str | None = None, predicted=None, limit=None):
        super().__init__(message)
        self.metric = metric
        self.predicted = predicted
        self.limit = limit


class OracleDisabled(MLSysError):
    """The grader's run has no solver: a graded answer called one or read an expected value.

    Raised, with one line, by the stubs of the oracle-free copy of the package the graded kernel
    sees (:mod:`mlsyslab.grading.overlay`); the notebook shows that line, not a traceback."""

    def _render_traceback_(self):
        return [f"OracleDisabled: {self}"]
