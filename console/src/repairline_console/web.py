"""What every page shares: the signed-in user (from the HttpOnly cookie), the templates
with the user's language, and the services called with the user's token."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from repairline_console import i18n
from repairline_console.backend import Answer, Backend
from repairline_console.settings import ConsoleSettings
from repairline_platform.auth import Principal
from repairline_platform.tokens import InvalidToken, Verifier

TOKEN_COOKIE = "repairline_session"
LANG_COOKIE = "repairline_lang"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["zip_labels"] = lambda values, t, prefix: [(v, t(prefix + v)) for v in values]

# The page each role lands on after signing in.
HOMES = (
    ("dispatcher", "/board"),
    ("agent", "/intake"),
    ("engineer", "/engineer"),
    ("quality", "/followup"),
    ("analyst", "/manager"),
    ("billing", "/money"),
)


class SignInRequired(Exception):
    """No valid session: the page sends the browser to the sign-in page."""


@dataclass(frozen=True)
class Session:
    """The person at the screen: his verified token and what it says."""

    token: str
    principal: Principal
    locale: str

    def has(self, *roles: str) -> bool:
        return bool(self.principal.roles & set(roles))

    @property
    def home(self) -> str:
        return next((path for role, path in HOMES if role in self.principal.roles), "/tickets")


def settings_of(request: Request) -> ConsoleSettings:
    return request.app.state.settings


def backend_of(request: Request) -> Backend:
    return request.app.state.backend


def locale_of(request: Request) -> str:
    return i18n.locale_of(request.cookies.get(LANG_COOKIE))


async def session(request: Request) -> Session:
    """The signed-in user; `SignInRequired` when the cookie is missing or its token is
    not valid any more (expired, or signed by another key)."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        raise SignInRequired
    verifier: Verifier = request.app.state.verifier
    try:
        principal = await verifier.principal(token)
    except InvalidToken as err:
        raise SignInRequired from err
    return Session(token, principal, locale_of(request))


def render(
    request: Request, name: str, user: Session | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    locale = user.locale if user else locale_of(request)
    zone = ZoneInfo(settings_of(request).console_timezone)

    def t(key: str, **values: Any) -> str:
        return i18n.translate(locale, key, **values)

    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "locale": locale,
            "t": t,
            "when": lambda v: i18n.moment(v, zone),
            "clock": lambda v: i18n.moment(v, zone, time_only=True),
            "yuan": i18n.yuan,
            **context,
        },
        status_code=status_code,
    )


def refusal(answer: Answer) -> str:
    """What a refused call says, in one line: its rule or state, and its detail."""
    body = answer.body if isinstance(answer.body, dict) else {"detail": str(answer.body)}
    parts = [str(body.get(k)) for k in ("rule_id", "error", "detail", "reason") if body.get(k)]
    return f"{answer.status}: " + " · ".join(parts)


def back_to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


User = Annotated[Session, Depends(session)]
