"""The health endpoint for the load balancer: /health/ (django-health-check), open without sign-in.

It answers 200 when this server can reach its database and serves a valid knowledge base, 500 otherwise,
and says which knowledge base it serves (version and content digest: servers that disagree are visible at
a glance during an upgrade). Nothing else: no patient data, no configuration, no host names. JSON with
``?format=json`` or ``Accept: application/json``; plain text with ``?format=text``.
"""

from __future__ import annotations

import dataclasses

from django.contrib.auth.decorators import login_not_required
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from . import services

MSG_KNOWLEDGE_UNAVAILABLE = "knowledge base missing or invalid"


@dataclasses.dataclass
class KnowledgeBase(HealthCheck):
    """The knowledge base this process serves (the pinned one: see services.py), by its stamp."""

    version: str | None = None

    def run(self) -> None:
        try:
            self.version = services.knowledge_stamp()
        except services.KnowledgeError as exc:
            raise ServiceUnavailable(MSG_KNOWLEDGE_UNAVAILABLE) from exc


# The database by `SELECT 1` on a connection of its own: no table of its own, no write (the runtime
# database role needs no extra privilege).
CHECKS = ("health_check.checks.Database", KnowledgeBase)

health = login_not_required(HealthCheckView.as_view(checks=CHECKS))
