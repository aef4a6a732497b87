"""The workstation's sign-in page (`make run`): choose a role and a region (and, for an
engineer, his id); the local issuer mints the token, kept in an HttpOnly cookie. In
production the network's identity provider signs people in instead
(`REPAIRLINE_CONSOLE_LOCAL_SIGNIN=false`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from repairline_console import i18n
from repairline_console.web import LANG_COOKIE, TOKEN_COOKIE, back_to, render, settings_of
from repairline_platform.bounds import KNOWN_REGIONS
from repairline_platform.issuer import Grant, mint

router = APIRouter()

ROLES = ("agent", "dispatcher", "engineer", "quality", "billing", "analyst", "admin")
SESSION_SECONDS = 8 * 3600


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request) -> HTMLResponse:
    if not settings_of(request).console_local_signin:
        raise HTTPException(404)
    return render(request, "signin.html", None, roles=ROLES, regions=KNOWN_REGIONS)


@router.post("/signin")
async def sign_in(
    request: Request,
    role: Annotated[str, Form()],
    region: Annotated[str, Form()] = "",
    engineer_id: Annotated[str, Form()] = "",
) -> RedirectResponse:
    settings = settings_of(request)
    if not settings.console_local_signin or role not in ROLES:
        raise HTTPException(422, "unknown role")
    if region and region not in KNOWN_REGIONS:
        raise HTTPException(422, "unknown region")
    engineer = engineer_id.strip() or None
    grant = Grant(
        subject=f"console-{role}" + (f"-{engineer}" if engineer else ""),
        roles=(role,),
        regions=(region,) if region else (),
        engineer_id=engineer if role == "engineer" else None,
    )
    token = mint(settings.console_auth_dir, grant, ttl_seconds=SESSION_SECONDS)
    response = back_to("/")
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=settings.console_secure_cookies,
    )
    return response


@router.post("/signout")
async def sign_out() -> RedirectResponse:
    response = back_to("/signin")
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/lang/{locale}")
async def choose_language(request: Request, locale: str) -> RedirectResponse:
    """The language of the labels, kept in a cookie; back to the page it was chosen on."""
    referer = request.headers.get("referer") or "/"
    path = referer if referer.startswith(str(request.base_url)) else "/"
    response = back_to(path)
    response.set_cookie(LANG_COOKIE, i18n.locale_of(locale), max_age=365 * 86400, samesite="lax")
    return response
