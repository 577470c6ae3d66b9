"""The Secrets panel's HTTP routes, under ``<base_url>/notebook-secrets/``.

Every route is a Jupyter ``APIHandler``: it needs the server's token or login cookie (and the
XSRF check for a cookie), like Jupyter's own API. Bodies go to the bridge unchanged and are never
logged; answers are not cached by the browser.
"""
import json

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .bridge import BridgeError, BridgeUnavailable

#: The panel's requests (see src/core/panelProtocol.ts); anything else is a 404.
OPS = frozenset(
    [
        "state",
        "create",
        "update",
        "delete",
        "reveal",
        "access",
        "share",
        "signin",
        "signout",
        "grants",
        "revoke",
        "consent",
        "kernel",
        "scan",
    ]
)

#: HTTP statuses of the bridge's error codes. The team server refusing a token is a 400 with code
#: "unauthorized": a 401 would read as the Jupyter sign-in having expired.
STATUS = {
    "invalid_name": 400,
    "invalid_input": 400,
    "value_too_large": 413,
    "not_found": 404,
    "name_taken": 409,
    "version_conflict": 412,
    "access_denied": 403,
    "unauthorized": 400,
    "last_owner": 422,
    "unavailable": 503,
}


class _Base(APIHandler):
    def initialize(self, bridge):
        self.bridge = bridge

    def set_default_headers(self):
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    def fail(self, status, code, message):
        self.set_status(status)
        self.finish(json.dumps({"error": {"code": code, "message": message}}))


class RequestHandler(_Base):
    @web.authenticated
    async def post(self, op):
        if op not in OPS:
            raise web.HTTPError(404)
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            return self.fail(400, "invalid_input", "The request body is not JSON.")
        if not isinstance(body, dict):
            return self.fail(400, "invalid_input", "The request body must be a JSON object.")
        body["op"] = op
        try:
            result = await self.bridge.request(body)
        except BridgeUnavailable as error:
            return self.fail(503, "unavailable", str(error))
        except BridgeError as error:
            return self.fail(STATUS.get(error.code, 500), error.code, error.message)
        self.finish(json.dumps(result if result is not None else {}))


class EventsHandler(_Base):
    @web.authenticated
    async def get(self):
        try:
            after = int(self.get_query_argument("after", "0"))
        except ValueError:
            after = 0
        self.finish(json.dumps(await self.bridge.wait_events(after)))


def setup_handlers(web_app, bridge):
    base = url_path_join(web_app.settings["base_url"], "notebook-secrets")
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "events"), EventsHandler, {"bridge": bridge}),
            (url_path_join(base, "api", r"([a-z]+)"), RequestHandler, {"bridge": bridge}),
        ],
    )
