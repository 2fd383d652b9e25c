"""Import every domain's tables so Base.metadata is complete (Alembic, create_all)."""

from jiefang.analytics.models import IndexScore
from jiefang.api.idempotency import IdempotencyKey
from jiefang.areas.models import Area
from jiefang.audit.models import AuditEntry
from jiefang.commands.models import CommandReceipt, GroupCommand
from jiefang.dispatch.models import Assignment, TierState
from jiefang.drills.models import Drill
from jiefang.duty.models import DutyAudit, DutyPost, DutySession, RosterAssignment, ServerSecret, Shift, UnitHelper
from jiefang.incidents.models import AlarmDevice, Incident, IncidentEvent
from jiefang.insurance.models import InsurancePolicy
from jiefang.mediation.models import CaseParty, MediationCase, MediationSession
from jiefang.people.models import Account, ApiToken, Member, MemberSkill
from jiefang.reports.models import HazardReport, Hotspot, ReportPhoto, ReportUpdate
from jiefang.rewards.models import Honour, PointEntry
from jiefang.tracking.models import Fence, FenceEvent, TrackPoint
from jiefang.units.models import Team, Unit, UnitEquipment
from jiefang.voice.models import TalkGroup, TalkGroupMember, TalkMessage, Transmission

__all__ = [
    "Account",
    "AlarmDevice",
    "ApiToken",
    "Area",
    "Assignment",
    "AuditEntry",
    "CaseParty",
    "CommandReceipt",
    "Drill",
    "DutyAudit",
    "DutyPost",
    "DutySession",
    "Fence",
    "FenceEvent",
    "GroupCommand",
    "HazardReport",
    "Honour",
    "Hotspot",
    "IdempotencyKey",
    "Incident",
    "IncidentEvent",
    "IndexScore",
    "InsurancePolicy",
    "MediationCase",
    "MediationSession",
    "Member",
    "MemberSkill",
    "PointEntry",
    "ReportPhoto",
    "ReportUpdate",
    "RosterAssignment",
    "ServerSecret",
    "Shift",
    "TalkGroup",
    "TalkGroupMember",
    "TalkMessage",
    "Team",
    "TierState",
    "TrackPoint",
    "Transmission",
    "Unit",
    "UnitEquipment",
    "UnitHelper",
]
