"""Import every domain's tables so Base.metadata is complete (Alembic, create_all)."""

from jiefang.analytics.models import IndexScore
from jiefang.areas.models import Area
from jiefang.dispatch.models import Assignment, TierState
from jiefang.duty.models import DutyAudit, DutyPost, DutySession, RosterAssignment, ServerSecret, Shift, UnitHelper
from jiefang.incidents.models import AlarmDevice, Incident, IncidentEvent
from jiefang.people.models import Account, ApiToken, Member, MemberSkill
from jiefang.tracking.models import Fence, FenceEvent, TrackPoint
from jiefang.units.models import Team, Unit, UnitEquipment

__all__ = [
    "Account",
    "AlarmDevice",
    "ApiToken",
    "Area",
    "Assignment",
    "DutyAudit",
    "DutyPost",
    "DutySession",
    "Fence",
    "FenceEvent",
    "Incident",
    "IncidentEvent",
    "IndexScore",
    "Member",
    "MemberSkill",
    "RosterAssignment",
    "ServerSecret",
    "Shift",
    "Team",
    "TierState",
    "TrackPoint",
    "Unit",
    "UnitEquipment",
    "UnitHelper",
]
