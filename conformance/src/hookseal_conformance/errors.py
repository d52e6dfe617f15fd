"""The conformance suite's own errors: each has a stable ``code``."""

from __future__ import annotations


class ConformanceError(Exception):
    """Base of every error the conformance suite raises about itself or an adapter."""

    code = "conformance_error"


class AdapterError(ConformanceError):
    """An adapter broke the JSON-lines protocol (contract 5): that alone is non-conformance."""

    code = "adapter_error"


class AdapterCrashedError(AdapterError):
    """The adapter process exited or closed its output before answering."""

    code = "adapter_crashed"


class AdapterTimeoutError(AdapterError):
    """The adapter did not answer a request within the per-case time bound."""

    code = "adapter_timeout"


class AdapterGarbageError(AdapterError):
    """The adapter answered something that is not one valid response object."""

    code = "adapter_garbage"


class AdapterOutOfOrderError(AdapterError):
    """The adapter answered more than once, unasked, or in the wrong order."""

    code = "adapter_out_of_order"


class VectorsMissingError(ConformanceError):
    """The shared vectors file could not be found or read (a failure, never a skip)."""

    code = "vectors_missing"
