"""Accounts: login with argon2-hashed passwords, bearer tokens with expiry and revocation, scopes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiefang.areas.models import Area
from jiefang.db import utcnow
from jiefang.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from jiefang.people.access import (
    CITY_ADMIN,
    DISTRICT_OPERATOR,
    MEMBER,
    UNIT_LEADER,
    Principal,
    can_manage_unit,
)
from jiefang.people.models import Account, ApiToken, Member
from jiefang.people.schemas import AccountCreate, AccountOut, LoginOut, PasswordChange
from jiefang.people.security import hash_password, new_token, token_digest, verify_password
from jiefang.units.models import Unit


def principal_of(account: Account) -> Principal:
    """Return the Principal (role and scope) of an account."""
    return Principal(account.id, account.username, account.role, account.district_id,
                     account.unit_id, account.member_id)


def login(session: Session, username: str, password: str, ttl_s: int) -> LoginOut:
    """Return a new bearer token for valid credentials; raises Unauthorized otherwise."""
    account = session.scalar(select(Account).where(Account.username == username))
    ok = verify_password(account.password_hash if account else None, password)
    if account is None or not ok or not account.active:
        raise Unauthorized("wrong username or password")
    token = new_token()
    expires = utcnow() + timedelta(seconds=ttl_s)
    session.add(ApiToken(token_sha256=token_digest(token), account_id=account.id, expires_at=expires))
    session.commit()
    return LoginOut(token=token, expires_at=expires, account=AccountOut.model_validate(account))


def authenticate(session: Session, token: str) -> Principal:
    """Return the Principal holding ``token``; raises Unauthorized if unknown, expired or revoked."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise Unauthorized("token is invalid, expired or revoked: log in again")
    account = row.account
    if not account.active:
        raise Unauthorized("account is deactivated")
    return principal_of(account)


def logout(session: Session, token: str) -> None:
    """Revoke ``token``."""
    session.execute(
        update(ApiToken).where(ApiToken.token_sha256 == token_digest(token)).values(revoked_at=utcnow())
    )
    session.commit()


def revoke_all(session: Session, account_id: int) -> None:
    """Revoke every live token of an account."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.account_id == account_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _resolve_scope(session: Session, data: AccountCreate) -> tuple[int | None, int | None, int | None]:
    """Return (district_id, unit_id, member_id) implied by the role; raises InvalidInput."""
    if data.role == CITY_ADMIN:
        return None, None, None
    if data.role == DISTRICT_OPERATOR:
        district = session.get(Area, data.district_id) if data.district_id else None
        if district is None or district.level != "district":
            raise InvalidInput("a district operator account needs an existing district_id")
        return district.id, None, None
    if data.role == UNIT_LEADER:
        unit = session.get(Unit, data.unit_id) if data.unit_id else None
        if unit is None:
            raise InvalidInput("a unit leader account needs an existing unit_id")
        if data.member_id is not None:
            member = session.get(Member, data.member_id)
            if member is None or member.unit_id != unit.id:
                raise InvalidInput(f"member {data.member_id} is not a member of unit {unit.id}")
        return unit.district_id, unit.id, data.member_id
    member = session.get(Member, data.member_id) if data.member_id else None
    if member is None:
        raise InvalidInput("a member account needs an existing member_id")
    unit = session.get_one(Unit, member.unit_id)
    return unit.district_id, unit.id, member.id


def _may_create(who: Principal, role: str, district_id: int | None, unit_id: int | None) -> bool:
    if who.role == CITY_ADMIN:
        return True
    if role in (CITY_ADMIN, DISTRICT_OPERATOR):
        return False
    if who.role == UNIT_LEADER and role != MEMBER:
        return False
    return unit_id is not None and district_id is not None and can_manage_unit(who, unit_id, district_id)


def create_account(session: Session, who: Principal, data: AccountCreate) -> Account:
    """Create an account in the caller's scope; raises Forbidden, InvalidInput, Conflict."""
    district_id, unit_id, member_id = _resolve_scope(session, data)
    if not _may_create(who, data.role, district_id, unit_id):
        raise Forbidden(f"your role ({who.role}) may not create a {data.role} account here")
    account = Account(username=data.username, password_hash=hash_password(data.password),
                      role=data.role, district_id=district_id, unit_id=unit_id, member_id=member_id)
    session.add(account)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"username {data.username} is taken") from exc
    return account


def get_account(session: Session, account_id: int) -> Account:
    """Return the account with ``account_id``; raises NotFound."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} not found")
    return account


def list_accounts(session: Session, who: Principal) -> list[AccountOut]:
    """Return the accounts within the caller's scope."""
    stmt = select(Account).order_by(Account.id)
    if who.role == DISTRICT_OPERATOR:
        stmt = stmt.where(Account.district_id == who.district_id, Account.role != DISTRICT_OPERATOR)
    elif who.role != CITY_ADMIN:
        stmt = stmt.where(Account.id == who.account_id)
    return [AccountOut.model_validate(a) for a in session.scalars(stmt)]


def deactivate_account(session: Session, who: Principal, account_id: int) -> Account:
    """Deactivate an account in the caller's scope and revoke its tokens; raises NotFound, Forbidden."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} not found")
    if account.id == who.account_id:
        raise InvalidInput("you cannot deactivate your own account")
    if not _may_create(who, account.role, account.district_id, account.unit_id):
        raise Forbidden(f"account {account_id} is outside your scope")
    account.active = False
    revoke_all(session, account.id)
    session.commit()
    return account


def change_password(session: Session, who: Principal, data: PasswordChange) -> None:
    """Change the caller's password and revoke their other tokens; raises InvalidInput."""
    account = session.get_one(Account, who.account_id)
    if not verify_password(account.password_hash, data.old_password):
        raise InvalidInput("the old password is wrong")
    account.password_hash = hash_password(data.new_password)
    revoke_all(session, account.id)
    session.commit()


def ensure_account(session: Session, username: str, password: str, role: str, *,
                   district_id: int | None = None, unit_id: int | None = None,
                   member_id: int | None = None) -> Account:
    """Create or reset an account without a caller (CLI and demo bootstrap); commits."""
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        account = Account(username=username)
        session.add(account)
    account.password_hash = hash_password(password)
    account.role, account.district_id, account.unit_id, account.member_id = role, district_id, unit_id, member_id
    account.active = True
    session.commit()
    return account
