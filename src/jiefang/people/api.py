"""HTTP routes for login, accounts and members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from jiefang.api.deps import (
    STAFF_ONLY,
    BBoxDep,
    ClientIpDep,
    IdPath,
    IdQuery,
    PageDep,
    PrincipalDep,
    RateLimiterDep,
    SearchQuery,
    SessionDep,
    SettingsDep,
    get_token,
)
from jiefang.errors import Unauthorized
from jiefang.people import accounts, service
from jiefang.people.schemas import (
    AccountCreate,
    AccountOut,
    LoginIn,
    LoginOut,
    MemberCreate,
    MemberOut,
    MemberRole,
    MemberUpdate,
    PasswordChange,
    Skill,
)
from jiefang.schemas import RATE_LIMITED, Page

auth_router = APIRouter(prefix="/api/auth", tags=["auth"])
router = APIRouter(prefix="/api", tags=["people"])


@auth_router.post("/login", response_model=LoginOut, responses=RATE_LIMITED)
def login(session: SessionDep, settings: SettingsDep, limiter: RateLimiterDep, ip: ClientIpDep,
          data: LoginIn) -> LoginOut:
    """Exchange a username and password for a bearer token.

    429 when the address made too many attempts, or the username failed too often (locked for a while).
    """
    limiter.check_login(ip, data.username)
    try:
        out = accounts.login(session, data.username, data.password, settings.token_ttl_s)
    except Unauthorized:
        limiter.login_failed(data.username)
        raise
    limiter.login_succeeded(data.username)
    return out


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: SessionDep, _who: PrincipalDep, token: Annotated[str, Depends(get_token)]) -> None:
    """Revoke the token used for this request."""
    accounts.logout(session, token)


@auth_router.get("/me", response_model=AccountOut)
def me(session: SessionDep, who: PrincipalDep) -> AccountOut:
    """The account behind the token: role and scope."""
    return AccountOut.model_validate(accounts.get_account(session, who.account_id))


@auth_router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(session: SessionDep, who: PrincipalDep, data: PasswordChange) -> None:
    """Change your password; every token of yours is revoked (log in again)."""
    accounts.change_password(session, who, data)


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(session: SessionDep, who: PrincipalDep) -> list[AccountOut]:
    return accounts.list_accounts(session, who)


@router.post("/accounts", response_model=AccountOut, status_code=status.HTTP_201_CREATED, dependencies=[STAFF_ONLY])
def create_account(session: SessionDep, who: PrincipalDep, data: AccountCreate) -> AccountOut:
    return AccountOut.model_validate(accounts.create_account(session, who, data))


@router.post("/accounts/{account_id}/deactivate", response_model=AccountOut)
def deactivate_account(session: SessionDep, who: PrincipalDep, account_id: IdPath) -> AccountOut:
    return AccountOut.model_validate(accounts.deactivate_account(session, who, account_id))


@router.get("/members", response_model=Page[MemberOut])
def list_members(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    bbox: BBoxDep,
    unit_id: IdQuery = None,
    district_id: IdQuery = None,
    team_id: IdQuery = None,
    skill: Skill | None = None,
    role: MemberRole | None = None,
    q: SearchQuery = None,
) -> Page[MemberOut]:
    """Members within your scope; phone and ID number masked unless your role needs them."""
    return service.list_members(
        session,
        who,
        page,
        unit_id=unit_id,
        district_id=district_id,
        team_id=team_id,
        skill=skill,
        role=role,
        bbox=bbox,
        q=q,
    )


@router.get("/members/{member_id}", response_model=MemberOut)
def get_member(session: SessionDep, who: PrincipalDep, member_id: IdPath) -> MemberOut:
    return service.get_member(session, who, member_id)


@router.post("/members", response_model=MemberOut, status_code=status.HTTP_201_CREATED, dependencies=[STAFF_ONLY])
def create_member(session: SessionDep, who: PrincipalDep, data: MemberCreate) -> MemberOut:
    return service.create_member(session, who, data)


@router.patch("/members/{member_id}", response_model=MemberOut, dependencies=[STAFF_ONLY])
def update_member(session: SessionDep, who: PrincipalDep, member_id: IdPath, data: MemberUpdate) -> MemberOut:
    return service.update_member(session, who, member_id, data)
