"""Security headers on every answer: pages and API alike.

The pages load only their own scripts (no inline script, no event-handler attributes), so
``script-src 'self'`` holds; inline ``style`` is allowed because the pages and Leaflet set
styles on elements. Images may be ``data:`` (favicon, Leaflet) and ``blob:`` (report photos
fetched with the token); audio is ``blob:`` (push-to-talk playback through MediaSource); the
optional base-map tile host is added to ``img-src``. WebSockets go to the page's own origin,
which ``'self'`` covers. The member app needs the camera (QR scan), the microphone (talk) and
geolocation (positions), for this origin only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The interactive API docs load Swagger UI / ReDoc from a CDN with an inline start-up script.
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
            "worker-src 'self' blob:; frame-ancestors 'none'; object-src 'none'")
PERMISSIONS_POLICY = "camera=(self), microphone=(self), geolocation=(self), payment=(), usb=()"


def tile_source(tile_url: str | None) -> str | None:
    """Return the CSP source of a tile URL template (``https://*.tile.example.org``), or None.

    A ``{s}`` subdomain placeholder becomes the ``*`` wildcard; any other placeholder in the host
    leaves only the scheme (``https:``), which CSP cannot narrow further.
    """
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    labels = parts.netloc.split(".")
    if "{" in labels[0] and "{" not in ".".join(labels[1:]):
        return f"{parts.scheme}://*.{'.'.join(labels[1:])}"
    if "{" in parts.netloc:
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(tile_url: str | None) -> str:
    """Return the Content-Security-Policy of the pages and the API."""
    tiles = tile_source(tile_url)
    img = "'self' data: blob:" + (f" {tiles}" if tiles else "")
    return (f"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src {img}; "
            "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeadersMiddleware:
    """ASGI middleware adding the security headers to every HTTP answer that lacks them."""

    def __init__(self, app: ASGIApp, tile_url: str | None = None) -> None:
        self.app = app
        csp = content_security_policy(tile_url)
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"x-frame-options", b"DENY"),
            (b"permissions-policy", PERMISSIONS_POLICY.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        self.headers = [(b"content-security-policy", csp.encode()), *common]
        self.docs_headers = [(b"content-security-policy", DOCS_CSP.encode()), *common]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = self.docs_headers if path.startswith(DOCS_PATHS) else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
