"""Who may open the fleet view and the admin pages: operators' sessions, API keys by role, the sign-in page.

- An operator signs in at ``/login`` (name and password) and gets a session: a random id in an
  HttpOnly, SameSite=Strict cookie (Secure when the hub is reached over https), ended by ``/logout``,
  by a new password, after two idle hours or twelve hours in all (:mod:`hub.storage.sessions`).
- An ``operator`` API key acts for the operator it names; a ``metrics`` key only reads ``/fleet`` and
  ``/fleet.csv``; a ``codes`` key (the rider app) opens neither.
- Wrong passwords slow the guessing client down and lock it out (:mod:`kiosk.core.guessing`), never the
  operator; an unknown name costs the same scrypt work as a wrong password.

Pages and answers of the operator's origin carry ``Cache-Control: no-store`` and a CSP with
``frame-ancestors 'none'`` (:class:`OperatorPageHeaders`).
"""

# No "from __future__ import annotations": FastAPI must see the real annotations of the endpoints.
import hmac
import logging
import secrets
import threading
from html import escape
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from hub.admin import CsrfTokens
from hub.admin_html import STYLE
from hub.auth import ApiRole, Operator
from hub.storage import Storage
from kiosk.core.guessing import GuessThrottle, client_key
from kiosk.core.http_limits import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

SESSION_COOKIE = "hub_session"
LOGIN_COOKIE = "hub_login"
"""The sign-in form's own CSRF token (double submit), valid for the form's path only."""
LOGIN_FORM_MAX = 4096
OPERATOR_PREFIXES = ("/fleet", "/admin", "/login", "/logout", "/docs", "/redoc")
"""Paths whose answers carry the operator pages' headers."""
PAGE_CSP = "frame-ancestors 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"
DOCS_CSP = "frame-ancestors 'none'"
"""The API docs pages (off by default) load their scripts from a CDN; they still cannot be framed."""
CONCURRENT_CHECKS = 2
"""Password checks at once (scrypt takes 16 MiB and tens of milliseconds each)."""


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this hub only (never ``//elsewhere`` or a full URL)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\x00" in target:
        return "/fleet"
    return target


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class OperatorAuth:
    """The dependencies that guard the operator pages, and the sign-in routes."""

    def __init__(self, storage: Storage, throttle: GuessThrottle | None = None) -> None:
        self.storage = storage
        self.throttle = throttle or GuessThrottle()
        self._throttle_lock = threading.Lock()
        self._checks = threading.BoundedSemaphore(CONCURRENT_CHECKS)
        self._key_tokens = CsrfTokens()

    # --- dependencies ------------------------------------------------------------------------

    def identify(self, request: Request) -> Operator | None:
        """The operator (or monitor) a request comes from, or None; :class:`HTTPException` 403 for a codes key."""
        token = _bearer(request)
        if token is not None:
            key = self.storage.api_key(token)
            if key is None:
                return None
            if key.role is ApiRole.CODES:
                raise HTTPException(
                    403, f"API key {key.name} is the rider app's (role codes): it may only issue codes (POST /v1/codes)"
                )
            name = key.operator if key.role is ApiRole.OPERATOR and key.operator else key.name
            return Operator(name, key.name, self._key_tokens.token(f"key:{key.name}"), key.role)
        session = self.storage.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        return Operator(session.operator, None, session.csrf)

    def _needed(self, request: Request) -> HTTPException:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return HTTPException(303, "sign in first", {"Location": f"/login?next={quote(target, safe='')}"})
        return HTTPException(
            401,
            "operator login needed: sign in at /login, or send an operator API key (Authorization: Bearer …)",
            {"WWW-Authenticate": 'Bearer realm="kiosk-hub"'},
        )

    def operator(self, request: Request) -> Operator:
        """A signed-in operator or an operator key (the admin pages and their forms)."""
        found = self.identify(request)
        if found is None:
            raise self._needed(request)
        if found.role is not ApiRole.OPERATOR:
            raise HTTPException(403, f"API key {found.key} may only read the fleet view (role {found.role.value})")
        return found

    def reader(self, request: Request) -> Operator:
        """An operator, an operator key or a metrics key (the read-only fleet view)."""
        found = self.identify(request)
        if found is None:
            raise self._needed(request)
        return found

    def is_operator_scope(self, scope: Scope) -> bool:
        """Whether a raw request comes from an operator (for the body limit, before the app runs)."""
        try:
            found = self.identify(Request(scope))
        except HTTPException:
            return False
        return found is not None and found.role is ApiRole.OPERATOR

    # --- sign-in -----------------------------------------------------------------------------

    def check_password(self, name: str, password: str, client: str) -> tuple[bool, float | None]:
        """(right password, seconds to wait) for one sign-in try from ``client``; counts a wrong one."""
        with self._throttle_lock:
            wait = self.throttle.retry_after(name, client)
        if wait is not None:
            return False, wait
        with self._checks:
            ok = self.storage.operator_ok(name, password)
        with self._throttle_lock:
            if ok:
                self.throttle.succeeded(name, client)
                return True, None
            alarm = self.throttle.failed(name, client)
        log.warning("an operator sign-in as %r from %s was refused (wrong name or password)", name, client)
        if alarm is not None:
            log.warning("password guessing on the hub's operator login: %s", alarm.describe())
        return False, None

    def router(self) -> APIRouter:
        """``GET|POST /login`` and ``GET|POST /logout``."""
        router = APIRouter(tags=["operators"], include_in_schema=False)

        def login_page(
            request: Request, error: str | None = None, code: int = 200, headers: dict[str, str] | None = None
        ) -> HTMLResponse:
            token = secrets.token_urlsafe(24)
            target = safe_next(request.query_params.get("next"))
            note = f'<p class="warn" role="alert">{escape(error)}</p>' if error else ""
            body = (
                f'<form method="post" action="/login?next={escape(quote(target, safe=""))}">'
                f'<input type="hidden" name="login_csrf" value="{escape(token)}">'
                '<p><label>Name <input name="username" autocomplete="username" required></label></p>'
                '<p><label>Password <input name="password" type="password" autocomplete="current-password"'
                " required></label></p>"
                '<p><button type="submit" data-test="sign-in">Sign in</button></p></form>'
            )
            response = HTMLResponse(_page("Sign in", note + body), code, headers=headers)
            response.set_cookie(
                LOGIN_COOKIE,
                token,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                max_age=3600,
                path="/login",
            )
            return response

        @router.get("/login", response_class=HTMLResponse)
        def login_form(request: Request) -> Response:
            """The sign-in form (or on to the pages when already signed in)."""
            if self.storage.session(request.cookies.get(SESSION_COOKIE)) is not None:
                return RedirectResponse(safe_next(request.query_params.get("next")), 303)
            return login_page(request)

        @router.post("/login", response_class=HTMLResponse)
        async def login(request: Request) -> Response:
            """Check name and password; open a session."""
            form = await _read_form(request)
            cookie = request.cookies.get(LOGIN_COOKIE)
            presented = form.get("login_csrf")
            if cookie is None or presented is None or not hmac.compare_digest(cookie.encode(), presented.encode()):
                return login_page(request, "The sign-in form had expired. Please try again.", 403)
            name = form.get("username", "").strip()[:64]
            password = form.get("password", "")[:256]
            client = client_key(request.client.host if request.client else None)
            ok, wait = await run_in_threadpool(self.check_password, name, password, client)
            if wait is not None:
                text = f"Too many wrong passwords from here. Try again in {_duration(wait)}."
                return login_page(request, text, 429, {"Retry-After": str(int(wait) + 1)})
            if not ok:
                return login_page(request, "That name or password is not right.", 401)
            session_id, _ = await run_in_threadpool(self.storage.open_session, name)
            log.info("operator %s signed in from %s", name, client)
            response = RedirectResponse(safe_next(request.query_params.get("next")), 303)
            response.set_cookie(
                SESSION_COOKIE,
                session_id,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
            response.delete_cookie(LOGIN_COOKIE, path="/login")
            return response

        @router.get("/logout", response_class=HTMLResponse)
        def logout_form(request: Request) -> Response:
            """A button to sign out (signing out is a POST, so another site cannot do it with a link)."""
            session = self.storage.session(request.cookies.get(SESSION_COOKIE))
            if session is None:
                return RedirectResponse("/login", 303)
            body = (
                '<form method="post" action="/logout">'
                f'<input type="hidden" name="csrf" value="{escape(session.csrf)}">'
                f"<p>Signed in as {escape(session.operator)}.</p>"
                '<p><button type="submit" data-test="sign-out">Sign out</button></p></form>'
            )
            return HTMLResponse(_page("Sign out", body))

        @router.post("/logout")
        async def logout(request: Request) -> Response:
            """End the session."""
            cookie = request.cookies.get(SESSION_COOKIE)
            session = self.storage.session(cookie)
            form = await _read_form(request)
            if session is not None:
                presented = form.get("csrf", "")
                if not hmac.compare_digest(session.csrf.encode(), presented.encode()):
                    return HTMLResponse(
                        _page("Refused", '<p class="warn">This form did not come from the hub.</p>'), 403
                    )
                self.storage.close_session(cookie)
                log.info("operator %s signed out", session.operator)
            response = RedirectResponse("/login", 303)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response

        return router


def _duration(seconds: float) -> str:
    return f"{max(1, round(seconds))} s" if seconds < 90 else f"about {round(seconds / 60)} min"


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · kiosk-hub</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head><body>'
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


async def _read_form(request: Request) -> dict[str, str]:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = await request.body()
    if len(body) > LOGIN_FORM_MAX:
        return {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
    except ValueError:
        return {}
    return {k: v[0] for k, v in fields.items() if "\x00" not in v[0] and "\x00" not in k}


class OperatorPageHeaders:
    """Adds ``Cache-Control: no-store`` and the CSP (``frame-ancestors 'none'``) to every operator page's answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(OPERATOR_PREFIXES):
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if path.startswith(("/docs", "/redoc")) else PAGE_CSP
        ours = [
            (b"cache-control", b"no-store"),
            (b"content-security-policy", csp.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        names = {name for name, _ in ours}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if bytes(k).lower() not in names]
                message = {**message, "headers": kept + ours}
            await send(message)

        await self.app(scope, receive, send_with_headers)
