"""The internal admin console: the provider's staff find and repair deliveries across every
tenant, in server-rendered pages served next to the admin API under ``/admin``.

Provider side::

    from hookseal_sender.admin import create_admin

    app = create_app(sender, api_keys,
                     mounts=[Mount("/admin", app=create_admin(sender, api_keys))])

Sign in with an admin API key, or with a link from ``hookseal-sender admin-link``.
"""

from __future__ import annotations

from ._pages import ADMIN_COOKIE, AdminConfig
from .app import create_admin
from .jobs import KINDS, BulkSelection, JobRunner, Preview, preview, select
from .links import OPERATOR_LOG, AdminLink, AdminTokens, admin_key, admin_link, issue_admin_link

__all__ = ["ADMIN_COOKIE", "KINDS", "OPERATOR_LOG", "AdminConfig", "AdminLink", "AdminTokens",
           "BulkSelection", "JobRunner", "Preview", "admin_key", "admin_link", "create_admin",
           "issue_admin_link", "preview", "select"]
