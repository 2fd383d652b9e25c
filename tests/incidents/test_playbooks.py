"""Playbooks: the shipped ones load and cover every incident type; broken files are refused clearly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiefang.errors import InvalidInput
from jiefang.incidents.playbooks import (
    SHIPPED_DIR,
    STANDARD_DEADLINES_S,
    TIER_ORDER,
    Playbook,
    load_playbooks,
    parse_playbook,
    playbook_to_yaml,
    shipped_playbooks,
)
from jiefang.people.vocab import SKILLS
from jiefang.units.vocab import EQUIPMENT

SHIPPED_TYPES = {"violent_crime", "public_order", "fire", "medical", "dispute", "missing_person", "traffic_accident"}
FIRE_YAML = (SHIPPED_DIR / "fire.yaml").read_text(encoding="utf-8")


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(tmp_path: Path, text: str, name: str = "broken.yaml") -> str:
    _write(tmp_path, name, text)
    with pytest.raises(InvalidInput) as err:
        load_playbooks(tmp_path)
    return err.value.message


def _fire_blocks() -> list[str]:
    """Split the fire playbook into its head and its three tier blocks, in file order."""
    head, *tiers = FIRE_YAML.split("  - tier: ")
    return [head, *("  - tier: " + block for block in tiers)]


def test_shipped_playbooks_load_and_cover_the_seven_incident_types():
    playbooks = shipped_playbooks()
    assert set(playbooks) == SHIPPED_TYPES
    for kind, playbook in playbooks.items():
        assert playbook.incident_type == kind
        assert tuple(t.tier for t in playbook.tiers) == TIER_ORDER
        assert [t.deadline_s for t in playbook.tiers] == [STANDARD_DEADLINES_S[t] for t in TIER_ORDER]
        assert playbook.tier("self_rescue").own_unit
        assert any("\u4e00" <= c <= "\u9fff" for c in playbook.name_zh)


def test_shipped_playbooks_ask_for_what_each_incident_needs():
    p = shipped_playbooks()
    violent = p["violent_crime"].tier("reinforcement")
    assert violent.police_handover and {"shield", "restraint_fork"} <= set(violent.equipment)
    assert "ex_military" in violent.skills_any
    assert p["violent_crime"].default_severity == 1
    assert "fire_extinguisher" in p["fire"].tier("self_rescue").equipment
    assert "fire" in p["fire"].tier("self_rescue").skills_any
    assert "aed" in p["medical"].tier("mutual_aid").equipment
    assert "first_aid" in p["medical"].tier("self_rescue").skills_any
    assert "mediation" in p["dispute"].tier("self_rescue").skills_any
    assert "first_aid" in p["traffic_accident"].tier("self_rescue").skills_any
    missing = p["missing_person"].tiers
    others = [pb for kind, pb in p.items() if kind != "missing_person"]
    for i, tier in enumerate(missing):
        assert all(tier.max_radius_m > pb.tiers[i].max_radius_m for pb in others)
        assert all(tier.responders >= pb.tiers[i].responders for pb in others)


def test_shipped_playbooks_are_shared_frozen_and_the_dict_is_a_copy():
    first = shipped_playbooks()
    first.pop("fire")
    second = shipped_playbooks()
    assert "fire" in second and second["medical"] is first["medical"]
    with pytest.raises(ValueError, match="frozen"):
        second["fire"].default_severity = 4  # type: ignore[misc]


def test_omitted_deadline_takes_the_1_3_5_standard():
    text = FIRE_YAML.replace("    deadline_s: 180\n", "")
    assert parse_playbook(text).tier("mutual_aid").deadline_s == 180


def test_unknown_skill_is_refused_naming_file_and_field(tmp_path):
    message = _refusal(tmp_path, FIRE_YAML.replace("skills_any: [fire]\n", "skills_any: [fire, juggling]\n", 1))
    assert "broken.yaml" in message and "tiers[0].skills_any[1]" in message and "juggling" in message


def test_unknown_equipment_is_refused_naming_file_and_field(tmp_path):
    message = _refusal(tmp_path, FIRE_YAML.replace("[fire_extinguisher]", "[hose]", 1))
    assert "broken.yaml" in message and "tiers[0].equipment[0]" in message and "hose" in message


def test_extra_key_is_refused_naming_file_and_field(tmp_path):
    message = _refusal(tmp_path, FIRE_YAML.replace("    own_unit: true\n", "    own_unit: true\n    radius: 5\n"))
    assert "broken.yaml" in message and "tiers[0].radius" in message and "not permitted" in message


def test_key_given_twice_is_refused_naming_file_and_key(tmp_path):
    text = FIRE_YAML.replace("default_severity: 1\n", "default_severity: 1\ndefault_severity: 4\n")
    message = _refusal(tmp_path, text)
    assert "broken.yaml" in message and "duplicate key 'default_severity'" in message


def test_tiers_out_of_order_are_refused_naming_file_and_field(tmp_path):
    head, self_rescue, mutual_aid, reinforcement = _fire_blocks()
    message = _refusal(tmp_path, head + self_rescue + reinforcement + mutual_aid)
    assert "broken.yaml" in message and "tiers:" in message and "in this order" in message


def test_missing_tier_is_refused_naming_file_and_field(tmp_path):
    head, self_rescue, _, reinforcement = _fire_blocks()
    message = _refusal(tmp_path, head + self_rescue + reinforcement)
    assert "broken.yaml" in message and "tiers:" in message and "got self_rescue, reinforcement" in message


def test_non_increasing_deadlines_are_refused_naming_file_and_field(tmp_path):
    message = _refusal(tmp_path, FIRE_YAML.replace("deadline_s: 300", "deadline_s: 180"))
    assert "broken.yaml" in message and "tiers:" in message and "deadline_s must increase" in message


def test_bad_yaml_syntax_is_refused_naming_the_file(tmp_path):
    message = _refusal(tmp_path, FIRE_YAML.replace("skills_any: [fire]", "skills_any: [fire", 1))
    assert "broken.yaml" in message and "not valid YAML" in message and "line" in message


def test_unhashable_yaml_key_is_refused_as_bad_yaml():
    with pytest.raises(InvalidInput, match=r"broken\.yaml: not valid YAML at line 1"):
        parse_playbook("? [a, b]\n: c\n", source="broken.yaml")


def test_document_that_is_not_a_mapping_is_refused(tmp_path):
    message = _refusal(tmp_path, "- just\n- a list\n")
    assert "broken.yaml" in message and "expected a mapping" in message


def test_duplicate_incident_type_is_refused_naming_both_files(tmp_path):
    _write(tmp_path, "a_fire.yaml", FIRE_YAML)
    message = _refusal(tmp_path, FIRE_YAML, name="b_fire.yaml")
    assert "b_fire.yaml: incident_type: 'fire' is already defined in a_fire.yaml" in message


def test_max_radius_below_search_radius_is_refused(tmp_path):
    message = _refusal(tmp_path, FIRE_YAML.replace("max_radius_m: 400", "max_radius_m: 200"))
    assert "broken.yaml: tiers[0]: max_radius_m 200 is below search_radius_m 250" in message


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("    own_unit: true\n", "", None),  # valid: own_unit defaults to false
        ("ack_timeout_s: 15", "ack_timeout_s: 60", "ack_timeout_s 60 must be shorter than deadline_s 60"),
        ("responders: 3", "responders: 0", "self_rescue needs at least one responder"),
        ("responders: 8", "responders: 51", "less than or equal to 50"),
        ("ack_timeout_s: 30", "ack_timeout_s: 30\n    own_unit: true", "own_unit applies only to the self_rescue"),
        ("    own_unit: true\n", "    own_unit: true\n    police_handover: true\n", "police_handover applies only"),
        ("arrival_radius_m: 80", "arrival_radius_m: 1000", "arrival_radius_m"),
        ("max_radius_m: 2500", "max_radius_m: 25000", "less than or equal to 20000"),
        ("incident_type: fire", "incident_type: Fire!", "incident_type"),
    ],
)
def test_inconsistent_tier_values_are_refused(old, new, reason):
    assert old in FIRE_YAML
    text = FIRE_YAML.replace(old, new, 1)
    if reason is None:
        parse_playbook(text)
        return
    with pytest.raises(InvalidInput, match=reason):
        parse_playbook(text, source="fire.yaml")


def test_every_broken_file_is_reported_at_once(tmp_path):
    _write(tmp_path, "one.yaml", FIRE_YAML.replace("[fire]", "[jugglng]", 1))
    _write(tmp_path, "two.yaml", "incident_type: [")
    with pytest.raises(InvalidInput) as err:
        load_playbooks(tmp_path)
    assert "one.yaml" in err.value.message and "two.yaml" in err.value.message


def test_directory_without_playbooks_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match=r"no \*\.yaml playbooks"):
        load_playbooks(tmp_path)


# -- property: any valid playbook survives YAML dump -> load unchanged --------------------------

_names = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=30)
_radius = st.floats(min_value=1.0, max_value=20_000.0, allow_nan=False, allow_infinity=False)


def _subset(vocab: dict) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(sorted(vocab)), unique=True)


@st.composite
def _tiers(draw: st.DrawFn) -> list[dict]:
    deadlines = sorted(draw(st.sets(st.integers(10, 3600), min_size=3, max_size=3)))
    tiers = []
    for name, deadline in zip(TIER_ORDER, deadlines, strict=True):
        responders = draw(st.integers(1 if name == "self_rescue" else 0, 50))
        search = draw(_radius)
        tiers.append({
            "tier": name,
            "deadline_s": deadline,
            "responders": responders,
            "skills_any": draw(_subset(SKILLS)) if responders else [],
            "skills_all": draw(_subset(SKILLS)) if responders else [],
            "equipment": draw(_subset(EQUIPMENT)) if responders else [],
            "search_radius_m": search,
            "max_radius_m": draw(st.floats(min_value=search, max_value=20_000.0)),
            "ack_timeout_s": draw(st.integers(5, min(300, deadline - 1))),
            "own_unit": draw(st.booleans()) if name == "self_rescue" else False,
            "police_handover": draw(st.booleans()) if name == "reinforcement" else False,
        })
    return tiers


_playbooks = st.builds(
    lambda kind, zh, en, severity, arrival, tiers: Playbook.model_validate({
        "incident_type": kind, "name_zh": zh, "name_en": en, "default_severity": severity,
        "arrival_radius_m": arrival, "tiers": tiers,
    }),
    st.from_regex(r"[a-z][a-z0-9_]{1,39}", fullmatch=True),
    _names,
    _names,
    st.sampled_from([1, 2, 3, 4]),
    st.floats(min_value=30.0, max_value=500.0),
    _tiers(),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_playbooks, min_size=1, max_size=3, unique_by=lambda p: p.incident_type))
def test_any_valid_playbook_round_trips_through_yaml_unchanged(playbooks):
    with tempfile.TemporaryDirectory() as directory:  # tmp_path is per test, not per example
        for i, playbook in enumerate(playbooks):
            _write(Path(directory), f"{i}.yaml", playbook_to_yaml(playbook))
        loaded = load_playbooks(Path(directory))
    assert loaded == {p.incident_type: p for p in playbooks}
