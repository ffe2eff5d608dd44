"""amoCRM's REST side of the app, loaded on the first request whose path could be one of its routes.

``/api/v4/…``, ``POST /oauth2/access_token`` and the control plane's integrations (``/__mock__/integrations…``,
``/__mock__/crm/…``): a chat-channel integration never calls them, so a start builds none of their routes
and imports none of their modules (:mod:`._rest`, :mod:`._rest_routes`, :mod:`._rest_crm`, :mod:`._rest_inbox`,
:mod:`._rest_oauth`). Only the rate limiter exists from the start: a test may set or reset it before any call.

>>> from mock_amojo import Config, create_app
>>> app = create_app(Config())
>>> side = app.state.crm_rest
>>> side.route.loaded, side.limiter.per_second
(False, 7)
>>> len(side.route.routes) > 30, side.route.loaded
(True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import Config
from ..domain import Backend
from ..wire._endpoints import OAUTH_PREFIX, REST_PREFIX
from ._control import CONTROL_PREFIX
from ._lazy_routes import LazyRoutes
from ._ratelimit import RateLimiter

if TYPE_CHECKING:
    from starlette.routing import Route

    from ..wire._validation import SchemaSet

__all__ = ["PREFIXES", "RestSide"]

#: Where the side's routes live: every one of its paths starts with one of these.
PREFIXES = (CONTROL_PREFIX + "/integrations", CONTROL_PREFIX + "/crm/", OAUTH_PREFIX, REST_PREFIX + "/")


class RestSide:
    """The REST side of one app: ``limiter`` (7/s per integration) now, ``route`` (its routes) on first need."""

    def __init__(self, backend: Backend, config: Config, schemas: SchemaSet) -> None:
        self.backend = backend
        self.config = config
        self.schemas = schemas
        self.limiter = RateLimiter(config.crm_rate_limit)
        self.route = LazyRoutes(PREFIXES, self._routes)

    def _routes(self) -> list[Route]:
        """In the order they always stood: the control plane's integrations, OAuth, then ``/api/v4``."""
        from ._rest_oauth import integration_routes, oauth_routes
        from ._rest_routes import rest_routes

        integrations = integration_routes(self.backend, self.config, self.schemas, CONTROL_PREFIX)
        return [*integrations, *oauth_routes(self.backend, self.config), *rest_routes(self.backend, self.limiter)]
