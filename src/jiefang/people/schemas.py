"""Request and response shapes for members, accounts and login."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from jiefang.people.idcard import id_check_digit
from jiefang.people.vocab import SKILLS
from jiefang.schemas import CleanStr, DbId, PatchModel, SafeStr

MemberRole = Literal["leader", "deputy", "security_officer", "guard", "staff", "volunteer"]
AccountRole = Literal["city_admin", "district_operator", "unit_leader", "member"]
Skill = Literal["first_aid", "fire", "ex_military", "mediation", "driving"]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{7,15}$")]
IdNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{17}[0-9Xx]$", to_upper=True)]
PersonName = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Password = Annotated[SafeStr, StringConstraints(min_length=8, max_length=128)]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{3,64}$")]

assert set(Skill.__args__) == set(SKILLS)  # type: ignore[attr-defined]


def _valid_id(value: str | None) -> str | None:
    if value is not None and id_check_digit(value[:17]) != value[17]:
        raise ValueError("resident ID number check digit is wrong")
    return value


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: DbId
    team_id: DbId | None = None
    name: PersonName
    phone: Phone
    id_number: IdNumber | None = None
    role: MemberRole = "volunteer"
    skills: list[Skill] = Field(default_factory=list, max_length=len(SKILLS))
    insurer: SafeStr | None = Field(None, max_length=80)
    insurance_policy_no: SafeStr | None = Field(None, max_length=40)
    insurance_expires_on: date | None = None

    _id = field_validator("id_number")(_valid_id)


class MemberUpdate(PatchModel):
    not_null = ("name", "phone", "role", "status", "skills")

    team_id: DbId | None = None
    name: PersonName | None = None
    phone: Phone | None = None
    id_number: IdNumber | None = None
    role: MemberRole | None = None
    status: Literal["active", "inactive"] | None = None
    skills: list[Skill] | None = Field(None, max_length=len(SKILLS))
    insurer: SafeStr | None = Field(None, max_length=80)
    insurance_policy_no: SafeStr | None = Field(None, max_length=40)
    insurance_expires_on: date | None = None

    _id = field_validator("id_number")(_valid_id)


class MemberOut(BaseModel):
    """A member as the caller may see them: phone and ID number masked unless the role needs them."""

    id: int
    unit_id: int
    team_id: int | None
    name: str
    phone: str | None
    id_number: str | None
    role: str
    status: str
    skills: list[str]
    insurer: str | None
    insurance_policy_no: str | None
    insurance_expires_on: date | None
    insured: bool
    pii_masked: bool


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: SafeStr = Field(min_length=1, max_length=64)
    password: SafeStr = Field(min_length=1, max_length=128)


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: AccountRole
    district_id: int | None
    unit_id: int | None
    member_id: int | None
    active: bool


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    account: AccountOut


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    role: AccountRole
    district_id: DbId | None = None
    unit_id: DbId | None = None
    member_id: DbId | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_password: SafeStr = Field(min_length=1, max_length=128)
    new_password: Password
