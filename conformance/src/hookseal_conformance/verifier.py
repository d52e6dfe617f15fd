"""Talk to a verifier adapter (contract 5.1) and check its answers against cases."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from typing import Any, Optional

from . import timing
from .adapter_process import Adapter
from .cases import ANSWER_CODES, Case
from .errors import AdapterError, AdapterGarbageError
from .report import ConformanceFailure, bug_report, expected_text


class VerifierAdapter:
    """A verifier adapter process with an optional constant-time comparison probe.

    Args:
        command: the adapter command line.
        timeout: per-case time bound in seconds.
        observe: inject the comparison probes (Python, Node, Ruby).
        cwd: working directory for the adapter.
        startup_timeout: extra seconds the first answer after a start may take.
    """

    def __init__(
        self,
        command: str,
        *,
        timeout: float = 5.0,
        observe: bool = True,
        cwd: Optional[str] = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.command = command
        self.compare_log: Optional[timing.CompareLog] = None
        env: dict[str, str] = {}
        if observe:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115  (lives as long as the adapter)
                prefix="hookseal-ct-", suffix=".log", delete=False
            )
            handle.close()
            self.compare_log = timing.CompareLog(handle.name)
            env = timing.preload_env(handle.name)
        self.adapter = Adapter(command, timeout=timeout, env=env, cwd=cwd,
                               startup_timeout=startup_timeout)

    def close(self) -> None:
        """Stop the adapter and remove the probe's log."""
        self.adapter.close()
        if self.compare_log is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.compare_log.path)

    @staticmethod
    def _answer(raw: Mapping[str, Any]) -> str:
        ok = raw.get("ok")
        if ok is True:
            return "ok"
        if ok is False and isinstance(raw.get("error"), str) and raw["error"] in ANSWER_CODES:
            return str(raw["error"])
        raise AdapterGarbageError(
            f"adapter answered {dict(raw)!r}, which is neither {{\"ok\": true}} nor "
            f"{{\"ok\": false, \"error\": <one of {sorted(ANSWER_CODES)}>}}"
        )

    def ask(self, request: Mapping[str, Any]) -> str:
        """Send one request; return ``"ok"`` or the error code answered.

        Raises:
            AdapterError: a protocol violation (crash, hang, garbage, out of order).
        """
        return self._answer(self.adapter.request(request))

    def ask_many(self, requests: list[dict[str, Any]]) -> list[str]:
        """Send requests pipelined; return the answers in order."""
        return [self._answer(r) for r in self.adapter.request_many(requests)]

    def check(self, case: Case, prop: str) -> str:
        """Send ``case`` and fail with a bug report unless the answer conforms.

        Returns:
            The answer, ``"ok"`` or an error code.
        """
        try:
            answer = self.ask(case.request)
        except AdapterError as exc:
            raise ConformanceFailure(
                bug_report(
                    prop=prop,
                    expected=expected_text(case.expected),
                    answered=f"{exc.code}: {exc}",
                    request=case.request,
                    why=case.why,
                    command=self.command,
                )
            ) from None
        if answer not in case.expected:
            raise ConformanceFailure(
                bug_report(
                    prop=prop,
                    expected=expected_text(case.expected),
                    answered=expected_text([answer]),
                    request=case.request,
                    why=case.why,
                    command=self.command,
                )
            )
        return answer
