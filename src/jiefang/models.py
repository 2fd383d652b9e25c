"""Import every domain's tables so Base.metadata is complete (Alembic, create_all)."""

from jiefang.areas.models import Area
from jiefang.duty.models import DutyAudit, DutyPost, DutySession, RosterAssignment, ServerSecret, Shift, UnitHelper
from jiefang.people.models import Account, ApiToken, Member, MemberSkill
from jiefang.tracking.models import Fence, FenceEvent, TrackPoint
from jiefang.units.models import Team, Unit, UnitEquipment

__all__ = [
    "Account", "ApiToken", "Area", "DutyAudit", "DutyPost", "DutySession", "Fence", "FenceEvent", "Member",
    "MemberSkill", "RosterAssignment", "ServerSecret", "Shift", "Team", "TrackPoint", "Unit", "UnitEquipment",
    "UnitHelper",
]
