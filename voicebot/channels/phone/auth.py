"""Who may reach the phone line: the HTTP API's bearer token, the loopback-by-default rule for
every listener, and Twilio's request signature on the Media Streams WebSocket upgrade.

The threat model is in docs/security.md: the HTTP API hands out callers' numbers and
transcripts and binds calls to customers, so it always needs a token; AudioSocket carries no
credentials at all, so off loopback it takes connections only from configured peer networks;
Twilio signs its upgrade request with the account's auth token (HMAC-SHA1, the scheme the
``twilio`` package's RequestValidator implements), and nothing else may open a stream.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

log = logging.getLogger(__name__)

TOKEN_FILE = "phone-api-token"
OPEN_PATHS = frozenset({"/healthz"})  # liveness probes: status and counts, nothing about a caller


class ListenerRefused(ValueError):
    """A listener would be reachable from the network without authentication."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it could resolve to anything


@dataclass(frozen=True)
class ApiToken:
    value: str
    file: Path | None  # where a generated token lives; None when it came from the configuration
    created: bool  # generated just now (shown once at start)


def api_token(configured: str | None, data_dir: Path) -> ApiToken:
    """The configured token, else the one in ``data_dir/phone-api-token``, created on first use
    with mode 0600 (readable only by the service user)."""
    if configured:
        return ApiToken(configured, None, False)
    path = data_dir / TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return ApiToken(token, path, False)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    # O_EXCL: two services starting at once must not overwrite each other's token.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return ApiToken(token, path, True)


def bearer_middleware(token: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return web.json_response(
                {"error": "missing or wrong bearer token"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="voicebot"'},
            )
        return await handler(request)

    return check


def peer_allowed(address: str, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or any(ip in net for net in networks)


def parse_networks(values: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(v, strict=False) for v in values]
    except ValueError as exc:
        raise ListenerRefused(f"phone.audiosocket_peers: {exc}") from None


def check_listeners(
    addresses: dict[str, tuple[str, int] | None],
    audiosocket_peers: list[str],
    twilio_auth_token: str | None,
) -> None:
    """Refuse, with the setting to change, a listener that would take unauthenticated
    connections from the network. The HTTP API always needs its token, so it may bind anywhere."""
    audiosocket = addresses.get("audiosocket")
    if audiosocket and not is_loopback(audiosocket[0]) and not audiosocket_peers:
        raise ListenerRefused(
            f"AudioSocket on {audiosocket[0]}:{audiosocket[1]} would answer anyone on the network "
            "(the protocol has no authentication): bind it to 127.0.0.1, or list the Asterisk hosts "
            "allowed to connect in phone.audiosocket_peers (VOICEBOT_PHONE__AUDIOSOCKET_PEERS)"
        )
    if addresses.get("twilio") and not twilio_auth_token:
        raise ListenerRefused(
            "the Twilio Media Streams listener needs the account's auth token to check Twilio's "
            "request signature: set phone.twilio_auth_token (VOICEBOT_PHONE__TWILIO_AUTH_TOKEN)"
        )


def twilio_signature_valid(auth_token: str, url: str, signature: str) -> bool:
    """Twilio's documented scheme for a request without a body (the WebSocket upgrade is a GET):
    base64(HMAC-SHA1(auth token, full URL)). The validator also accepts the URL with and
    without an explicit default port, as Twilio may sign either."""
    from twilio.request_validator import RequestValidator

    return bool(signature) and RequestValidator(auth_token).validate(url, {}, signature)
