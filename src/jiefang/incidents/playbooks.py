"""Playbooks (快速反应处置流程): who answers an incident type, tier by tier, under the 1-3-5 standard.

The 1-3-5 standard is three waves: within 1 minute the unit at the scene starts self-rescue
(``self_rescue``), within 3 minutes neighbouring units arrive for mutual aid (``mutual_aid``),
within 5 minutes reinforcements are on site (``reinforcement``). A playbook says for each wave
how many members are needed, with which skills and equipment, how far to look for them and when
to move on to the next candidate. Playbooks are YAML files, one per incident type, shipped in
``playbooks/`` beside this module; they are validated in full when loaded, because a typo in a
skill name would otherwise surface only as an empty candidate list during a real incident.

The models are frozen and hold tuples, so a loaded playbook can be shared freely.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from jiefang.errors import InvalidInput
from jiefang.people.vocab import SKILLS
from jiefang.schemas import CleanStr
from jiefang.units.vocab import EQUIPMENT

SHIPPED_DIR = Path(__file__).with_name("playbooks")

TierName = Literal["self_rescue", "mutual_aid", "reinforcement"]
TIER_ORDER: tuple[TierName, ...] = ("self_rescue", "mutual_aid", "reinforcement")
# on-scene deadline of each tier, seconds from intake: the 1-3-5 standard
STANDARD_DEADLINES_S: dict[TierName, int] = {"self_rescue": 60, "mutual_aid": 180, "reinforcement": 300}
MAX_RADIUS_M = 20_000.0


def _known_skill(name: str) -> str:
    if name not in SKILLS:
        raise ValueError(f"unknown skill {name!r}; known: {', '.join(SKILLS)}")
    return name


def _known_equipment(name: str) -> str:
    if name not in EQUIPMENT:
        raise ValueError(f"unknown equipment {name!r}; known: {', '.join(EQUIPMENT)}")
    return name


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(names)) != len(names):
        raise ValueError(f"names must not repeat, got {list(names)}")
    return names


Skill = Annotated[str, AfterValidator(_known_skill)]
Equipment = Annotated[str, AfterValidator(_known_equipment)]
Skills = Annotated[tuple[Skill, ...], AfterValidator(_unique)]
EquipmentKinds = Annotated[tuple[Equipment, ...], AfterValidator(_unique)]
Radius = Annotated[float, Field(gt=0, le=MAX_RADIUS_M, allow_inf_nan=False)]
IncidentType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
Name = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class TierSpec(BaseModel):
    """One wave of the 1-3-5 response (自救 / 互救 / 增援): who is needed, from how far."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tier: TierName
    deadline_s: int = Field(ge=10, le=3600)  # on scene, from intake; the standard's when omitted
    responders: int = Field(ge=0, le=50)
    skills_any: Skills = ()  # one responder at least should have one of these (ranked first)
    skills_all: Skills = ()  # every responder must have all of these
    equipment: EquipmentKinds = ()  # the responder's unit must hold these
    search_radius_m: Radius  # first search radius
    max_radius_m: Radius  # how far escalation may widen the search
    ack_timeout_s: int = Field(ge=5, le=300)  # silence this long -> ask the next candidate
    own_unit: bool = False  # self_rescue: the site's unit first (or the nearest within 1 min)
    police_handover: bool = False  # reinforcement: hand the scene over to the police (110)

    @model_validator(mode="before")
    @classmethod
    def _standard_deadline(cls, data: Any) -> Any:
        if isinstance(data, dict) and "deadline_s" not in data and data.get("tier") in STANDARD_DEADLINES_S:
            return {**data, "deadline_s": STANDARD_DEADLINES_S[data["tier"]]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> TierSpec:
        if self.max_radius_m < self.search_radius_m:
            raise ValueError(f"max_radius_m {self.max_radius_m:g} is below search_radius_m {self.search_radius_m:g}")
        if self.ack_timeout_s >= self.deadline_s:
            # a single silent candidate would use up the whole tier
            raise ValueError(f"ack_timeout_s {self.ack_timeout_s} must be shorter than deadline_s {self.deadline_s}")
        if self.tier == "self_rescue" and self.responders < 1:
            raise ValueError("self_rescue needs at least one responder: the unit at the scene acts first")
        if self.responders == 0 and (self.skills_any or self.skills_all or self.equipment):
            raise ValueError("a tier with no responders cannot ask for skills or equipment")
        if self.own_unit and self.tier != "self_rescue":
            raise ValueError("own_unit applies only to the self_rescue tier; later tiers come from other units")
        if self.police_handover and self.tier != "reinforcement":
            raise ValueError("police_handover applies only to the reinforcement tier")
        return self


class Playbook(BaseModel):
    """The rapid-response procedure (快速反应处置流程) of one incident type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_type: IncidentType
    name_zh: Name
    name_en: Name
    default_severity: Literal[1, 2, 3, 4]  # 1 = most severe
    arrival_radius_m: float = Field(ge=30, le=500, allow_inf_nan=False)  # this near counts as on scene
    tiers: tuple[TierSpec, ...]

    @field_validator("tiers")
    @classmethod
    def _three_tiers_in_order(cls, tiers: tuple[TierSpec, ...]) -> tuple[TierSpec, ...]:
        names = tuple(t.tier for t in tiers)
        if names != TIER_ORDER:
            raise ValueError(f"must be exactly {', '.join(TIER_ORDER)} in this order, got {', '.join(names) or 'none'}")
        deadlines = [t.deadline_s for t in tiers]
        if any(later <= earlier for earlier, later in itertools.pairwise(deadlines)):
            raise ValueError(f"deadline_s must increase from tier to tier, got {', '.join(map(str, deadlines))}")
        return tiers

    def tier(self, name: str) -> TierSpec:
        """Return the spec of tier ``name``. Raises KeyError for a name outside TIER_ORDER."""
        for spec in self.tiers:
            if spec.tier == name:
                return spec
        raise KeyError(name)


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses a key given twice (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):
            break  # construct_mapping below refuses it with its own message
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _problems(error: ValidationError) -> list[str]:
    return [
        f"{_field_path(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
        for e in error.errors(include_url=False)
    ]


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f" at line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else f": {problem}"


def parse_playbook(text: str, source: str = "<string>") -> Playbook:
    """Return the playbook in YAML ``text``.

    Raises InvalidInput naming ``source``, the field path and the reason for bad YAML, a document
    that is not a mapping, or any field that fails validation.
    """
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: not valid YAML{_where(exc)}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: expected a mapping of playbook fields, got {type(data).__name__}")
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("; ".join(f"{source}: {p}" for p in _problems(exc))) from exc


def playbook_to_yaml(playbook: Playbook) -> str:
    """Return ``playbook`` as YAML text that ``parse_playbook`` reads back to an equal playbook."""
    return yaml.safe_dump(playbook.model_dump(mode="json"), allow_unicode=True, sort_keys=False)


def load_playbooks(directory: Path | None = None) -> dict[str, Playbook]:
    """Return every playbook in ``directory`` (default: the shipped one), keyed by incident type.

    Reads each ``*.yaml`` file. Raises InvalidInput if the directory holds none, or listing every
    problem found (file name, field path, reason): bad YAML, unknown or invalid fields, unknown
    skill or equipment names, tiers missing or out of order, an incident type defined twice.
    """
    directory = SHIPPED_DIR if directory is None else Path(directory)
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise InvalidInput(f"no *.yaml playbooks in {directory}")
    playbooks: dict[str, Playbook] = {}
    origin: dict[str, str] = {}
    problems: list[str] = []
    for path in files:
        try:
            playbook = parse_playbook(path.read_text(encoding="utf-8"), source=path.name)
        except (InvalidInput, OSError, UnicodeDecodeError) as exc:
            problems.append(exc.message if isinstance(exc, InvalidInput) else f"{path.name}: cannot read: {exc}")
            continue
        kind = playbook.incident_type
        if kind in playbooks:
            problems.append(f"{path.name}: incident_type: {kind!r} is already defined in {origin[kind]}")
            continue
        playbooks[kind], origin[kind] = playbook, path.name
    if problems:
        raise InvalidInput("; ".join(problems))
    return playbooks


@cache
def _shipped() -> dict[str, Playbook]:
    return load_playbooks(SHIPPED_DIR)


def shipped_playbooks() -> dict[str, Playbook]:
    """Return the shipped playbooks by incident type, read once per process (a fresh dict each call).

    Raises InvalidInput if a shipped file is broken.
    """
    return dict(_shipped())
