"""Receive verified webhooks in the framework you already use.

One module per framework; each is imported on its own and needs that framework's extra,
so ``import hookseal`` never imports a web framework:

- :mod:`hookseal.integrations.fastapi` / :mod:`hookseal.integrations.starlette`: a
  dependency that reads the raw body and yields the verified event (``hookseal[fastapi]``).
- :mod:`hookseal.integrations.flask`: a view decorator (``hookseal[flask]``).
- :mod:`hookseal.integrations.django`: a view decorator (``hookseal[django]``).
- :mod:`hookseal.integrations.asgi` and :mod:`hookseal.integrations.wsgi`: middleware for
  any ASGI or WSGI application (no extra needed).

Every helper answers a failed verification itself, and the handler never runs: 400 for a
missing or malformed header (or a body that is not a JSON object), 401 for a bad
signature or timestamp, with an RFC 9457 ``application/problem+json`` body carrying the
error's ``code``. Pass ``once=ProcessOnce(...)`` (see :mod:`hookseal.idempotency`) to
process each delivery id once.
"""

from __future__ import annotations

from ._common import PROBLEM_CONTENT_TYPE, STATUS_FOR_CODE

__all__ = ["PROBLEM_CONTENT_TYPE", "STATUS_FOR_CODE"]
