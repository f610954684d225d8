"""Structured logging: the events this package emits, and a JSON formatter for them.

Every event is a stdlib ``logging`` record on a child of the ``mcp_oauth_dynamicclient``
logger, its fields passed with ``extra=`` so that any handler (and :class:`JsonFormatter`) can
read them as record attributes. Each record has ``component`` and ``event``; the rest depend on
the event:

=====================  ========  ================================================================
event                  level     fields
=====================  ========  ================================================================
discovery              INFO      auth_server, issuer
client_registration    INFO      auth_server, client_id, token_endpoint_auth_method
client_updated         INFO      auth_server, client_id
client_deleted         INFO      auth_server, client_id
token_exchange         INFO      auth_server, client_id, grant_type, expires_in, scope
token_refresh          INFO      client_id, expires_in, scope (component ``TokenManager``)
token_refresh_failed   WARNING   client_id, error_code (component ``TokenManager``)
token_revoked          INFO      auth_server, client_id, token_type
device_authorization   INFO      auth_server, client_id, expires_in, interval
authorization_request  DEBUG     auth_server, client_id, scope
request                DEBUG     operation, method, url, status_code, error_code, duration_ms
retry                  WARNING   operation, attempt, wait, reason, status_code, error_code
rate_limited           WARNING   operation, wait
=====================  ========  ================================================================

``request`` is logged for every attempt at the authorization server (component ``Sender``) and
for every ``authenticated_request`` (component ``OAuth2Client``). Secrets are never fields nor
part of a message: no token, client secret, code, verifier, assertion or state, and URLs are
logged without their query (``runtime.safe_url``). The ``component`` of the blocking client is
``OAuth2Client`` too, so one dashboard serves both.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from ._public import public

__all__ = [
    "CLIENT",
    "SENDER",
    "TOKENS",
    "JsonFormatter",
    "client_logger",
    "emit",
    "sender_logger",
    "tokens_logger",
]

LOGGER_NAME = "mcp_oauth_dynamicclient"
# A library prints nothing unless the application configures logging (Python's logging HOWTO,
# "Configuring Logging for a Library"): without this, WARNING events would reach stderr
# through logging's last-resort handler.
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())
client_logger = logging.getLogger(f"{LOGGER_NAME}.client")
tokens_logger = logging.getLogger(f"{LOGGER_NAME}.tokens")
sender_logger = logging.getLogger(f"{LOGGER_NAME}.sender")

# The ``component`` field: the same for the asyncio and the blocking flavour.
CLIENT = "OAuth2Client"
TOKENS = "TokenManager"
SENDER = "Sender"


def emit(
    logger: logging.Logger, level: int, component: str, event: str, message: str, **fields: Any
) -> None:
    """Log ``event`` at ``level`` with ``fields`` as record attributes; nothing if disabled.

    Hot paths check ``logger.isEnabledFor(level)`` themselves before building ``fields``.
    """
    if logger.isEnabledFor(level):
        fields["component"] = component
        fields["event"] = event
        logger.log(level, message, extra=fields, stacklevel=2)


# The attributes every LogRecord has: anything else on a record came in through ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_FIRST = ("component", "event")
# Defence in depth: a field of one of these names (from any logger) is never written out.
_SECRET_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "registration_access_token",
        "client_secret",
        "code",
        "code_verifier",
        "client_assertion",
        "assertion",
        "state",
        "device_code",
        "password",
        "authorization",
    }
)


@public("mcp_oauth_dynamicclient")
class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object per line, in the shape of the seed's examples.

    ``{"timestamp": "2025-06-21T23:38:12Z", "level": "INFO", "component": "OAuth2Client",
    "event": "client_registration", "client_id": "...", "auth_server": "...", ...}``: the UTC
    time to the second, the level name, then ``component`` and ``event`` when the record has
    them, every other ``extra`` field, and last ``logger`` and ``message``. An exception is
    added as ``exception`` (its formatted traceback). A value JSON cannot encode is written as
    its ``str``; a field named like a secret (``access_token``, ``client_secret``…) as
    ``"***"``.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single-line JSON object."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        out: dict[str, Any] = {"timestamp": stamp, "level": record.levelname}
        fields = vars(record)
        for key in _FIRST:
            if key in fields:
                out[key] = fields[key]
        for key, value in fields.items():
            if key not in _STANDARD and key not in out:
                out[key] = "***" if key.lower() in _SECRET_FIELDS else value
        out["logger"] = record.name
        out["message"] = record.getMessage()
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)
