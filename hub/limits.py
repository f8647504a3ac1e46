"""How big a request body the hub reads, decided from the request's head before a byte of the body is read.

A station's own sync routes (with that station's token) take a whole batch (:data:`MAX_BODY_BYTES`, the
same cap :mod:`hub.bodies` applies on the wire and unpacked); an operator's admin forms take the content
editor's JSON (:data:`hub.admin.MAX_FORM_BYTES`); everything else, and every request without the right
credentials, takes :data:`kiosk.core.http_limits.DEFAULT_MAX_BYTES` — so an anonymous client cannot make
the hub buffer megabytes. Applied by :class:`kiosk.core.http_limits.BodyLimit` around the whole app.
"""

from __future__ import annotations

import asyncio
import logging
import re

from fastapi import FastAPI

from hub.admin import MAX_FORM_BYTES
from hub.operators import OperatorAuth
from hub.storage import Storage
from kiosk.core.http_limits import DEFAULT_MAX_BYTES, LimitFor, Scope, header
from kiosk.sync.protocol import MAX_BODY_BYTES

log = logging.getLogger(__name__)

SYNC_ROUTE = re.compile(r"^/v1/stations/([a-z0-9][a-z0-9-]{1,62})/")
"""A station's own routes: ``/v1/stations/{id}/…``."""


def body_limits(storage: Storage, app: FastAPI) -> LimitFor:
    """The per-request body limit of the hub app ``app`` over ``storage``."""
    operators: OperatorAuth = app.state.operators

    def station_owns(token: str, station_id: str) -> bool:
        return storage.station_for_token(token) == station_id

    async def limit_for(scope: Scope) -> int:
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return DEFAULT_MAX_BYTES
        path = scope["path"]
        try:
            match = SYNC_ROUTE.match(path)
            if match is not None:
                scheme, _, token = (header(scope, b"authorization") or "").partition(" ")
                bearer = token.strip() if scheme.lower() == "bearer" else ""
                owns = bool(bearer) and await asyncio.to_thread(station_owns, bearer, match.group(1))
                if owns:
                    return MAX_BODY_BYTES
            elif path.startswith("/admin/") and await asyncio.to_thread(operators.is_operator_scope, scope):
                return MAX_FORM_BYTES
        except Exception as exc:  # the database is away: the small limit, and the route says 503 itself
            log.warning("could not check the credentials for the body limit of %s: %s", path, exc)
        return DEFAULT_MAX_BYTES

    return limit_for
