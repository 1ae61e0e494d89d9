"""Custom field conditions: the same contacts on both databases, and on PostgreSQL the jsonb copy of 0024.

PostgreSQL compiles custom field conditions to the generated `contacts.custom_fields_jsonb` column; SQLite (and
before 0024, PostgreSQL too) reads `contacts.custom_fields` as JSON text. The cases here (case, unicode, empty and
null values, keys with odd characters, other workspaces) must give the same contacts either way.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from extensions import db
from models import Contact
from services.segments import count_matching, matching_contacts
from services.segments.filters import compile_definition
from tests.factories import make_contact
from tests.segments.helpers import flt

ODD_KEYS = ("Plan (2024)", "e-mail.opt in", "it's", "cidade/pais", "[0]", "$.x", "a:b")
# SQLite's JSON paths never find a key with letters beyond ASCII (json stores them as \u escapes and the path
# compares the escaped text), before and after 0024 alike: PostgreSQL alone is asked about this one.
NON_ASCII_KEY = "país"


@pytest.fixture
def other(owner, create_user, in_tenant):
    """Contacts whose custom fields differ in case, script, emptiness and key spelling in the owner's workspace,
    and their twins in another workspace (returned), which no condition in the owner's may ever count."""
    people = {
        "Ana": {"city": "Lisbon", "plan": "Gold"},
        "Bea": {"city": "lisbon", "plan": ""},
        "Cid": {"City": "LISBON", "plan": "gold "},  # another key (keys are exact) and a value with a space
        "Dao": {"city": "São Paulo", **{key: f"value of {key}" for key in (*ODD_KEYS, NON_ASCII_KEY)}},
        "Emi": {"city": "Tokyo 😀", "plan": None, "note": 'say "hi" \\ there'},
        "Fay": {},
    }
    with in_tenant(owner.tenant_id):
        for name, custom in people.items():
            make_contact(name=name, custom_fields=custom)
    someone_else = create_user()
    with in_tenant(someone_else.tenant_id):
        for name, custom in people.items():
            make_contact(name=f"Other {name}", custom_fields=custom)
    return someone_else


def names(tenant_id, in_tenant, definition) -> list[str]:
    with in_tenant(tenant_id):
        return sorted(c.name for c in db.session.scalars(matching_contacts(definition)))


@pytest.mark.parametrize("condition, expected", [
    ({"op": "custom_equals", "key": "city", "text": "LISBON"}, ["Ana", "Bea"]),
    ({"op": "custom_equals", "key": "City", "text": "lisbon"}, ["Cid"]),
    ({"op": "custom_equals", "key": "plan", "text": "gold"}, ["Ana"]),  # "gold " is another value
    ({"op": "custom_equals", "key": "plan", "text": " GOLD "}, ["Ana"]),  # what was typed is trimmed
    ({"op": "custom_equals", "key": "city", "text": "SÃO PAULO"}, ["Dao"]),
    ({"op": "custom_equals", "key": "city", "text": "tokyo 😀"}, ["Emi"]),
    ({"op": "custom_equals", "key": "note", "text": 'SAY "HI" \\ THERE'}, ["Emi"]),
    ({"op": "custom_set", "key": "city"}, ["Ana", "Bea", "Dao", "Emi"]),
    ({"op": "custom_set", "key": "plan"}, ["Ana", "Cid"]),  # "" and null are not set
    ({"op": "custom_set", "key": "note"}, ["Emi"]),
    ({"op": "custom_set", "key": "nowhere"}, []),
    *[({"op": "custom_set", "key": key}, ["Dao"]) for key in ODD_KEYS],
    *[({"op": "custom_equals", "key": key, "text": f"VALUE OF {key}"}, ["Dao"]) for key in ODD_KEYS],
])
def test_custom_field_conditions(owner, other, in_tenant, condition, expected):
    assert names(owner.tenant_id, in_tenant, flt(condition)) == expected
    # The other workspace has the same fields: its contacts match there, and only there.
    assert names(other.tenant_id, in_tenant, flt(condition)) == [f"Other {name}" for name in expected]


def test_counts_stay_in_the_workspace(owner, other, in_tenant):
    with in_tenant(owner.tenant_id):
        assert count_matching(flt({"op": "custom_set", "key": "city"},
                                  {"op": "custom_equals", "key": "city", "text": "lisbon"})) == (2, 2)


def test_a_negated_is_set_keeps_the_contacts_without_the_field(owner, other, in_tenant):
    """"Is set" is never unknown: under NOT it picks the contacts with an empty, null or missing field."""
    with in_tenant(owner.tenant_id):
        criterion = compile_definition(flt({"op": "custom_set", "key": "plan"}))
        found = db.session.scalars(select(Contact.name).where(~criterion).order_by(Contact.name)).all()
    assert found == ["Bea", "Dao", "Emi", "Fay"]


# PostgreSQL: the jsonb copy.

def _json_text(key: str):
    """The field as the json column reads it (how PostgreSQL filtered before 0024)."""
    return Contact.custom_fields[key].as_string()


@pytest.mark.parametrize("key, value", [
    ("city", "lisbon"), ("City", "LISBON"), ("plan", "gold"), ("city", "são paulo"), ("city", "tokyo 😀"),
    ("city", "évora"), ("city", "ἀθῆναι"), ("plan", None), ("note", None),
    *[(key, f"value of {key}") for key in (*ODD_KEYS, NON_ASCII_KEY)], *[(key, None) for key in ODD_KEYS],
    (NON_ASCII_KEY, None),
])
def test_the_jsonb_copy_matches_what_the_json_column_matched(pg, owner, other, in_tenant, key, value):
    """Same rows as the json column gives, for equality (value) and for is-set (None), including upper-case
    letters outside ASCII that json stores as \\u escapes."""
    with in_tenant(owner.tenant_id):
        make_contact(name="Gil", custom_fields={"city": "ÉVORA", "plan": "GOLD"})
        make_contact(name="Hal", custom_fields={"city": "ἈΘῆΝΑΙ"})
        if value is None:
            condition = {"op": "custom_set", "key": key}
            before = func.coalesce(_json_text(key), "") != ""
        else:
            condition = {"op": "custom_equals", "key": key, "text": value}
            before = func.lower(_json_text(key)) == value.lower()
        now = db.session.scalars(matching_contacts(flt(condition)).with_only_columns(Contact.name)).all()
        then = db.session.scalars(select(Contact.name).where(before).order_by(Contact.created_at.desc(),
                                                                                Contact.id.desc())).all()
    assert now  # every case finds someone, so the comparison says something
    assert now == then


def _plan(statement) -> str:
    sql = statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    return "\n".join(db.session.execute(text(f"EXPLAIN {sql}")).scalars())


def test_counts_read_the_jsonb_copy_not_the_json_text(pg, owner, other, in_tenant):
    with in_tenant(owner.tenant_id):
        criterion = compile_definition(flt({"op": "custom_equals", "key": "city", "text": "lisbon"},
                                           {"op": "custom_set", "key": "plan"}))
        plan = _plan(select(func.count(Contact.id)).where(criterion))
    assert "custom_fields_jsonb ->> 'city'" in plan
    assert "custom_fields_jsonb ->> 'plan'" in plan
    assert "(custom_fields ->>" not in plan


def test_the_copy_is_generated_from_the_json_column(pg, owner, in_tenant):
    with pg.app_context():
        generated = db.session.execute(text(
            "SELECT is_generated, generation_expression, data_type FROM information_schema.columns "
            "WHERE table_name = 'contacts' AND column_name = 'custom_fields_jsonb'")).one()
    assert generated.is_generated == "ALWAYS"
    assert "custom_fields" in generated.generation_expression
    assert generated.data_type == "jsonb"
    with in_tenant(owner.tenant_id):
        contact = make_contact(name="Ivo", custom_fields={"z": "1", "a": "2"})
        contact.custom_fields = {"city": "Porto", "b": "x", "a": "y"}
        contact_id = contact.id
        db.session.commit()
    assert names(owner.tenant_id, in_tenant, flt({"op": "custom_equals", "key": "city", "text": "porto"})) == ["Ivo"]
    with in_tenant(owner.tenant_id):
        # The json column keeps the order people typed; the copy is jsonb's own order.
        assert list(db.session.get(Contact, contact_id).custom_fields) == ["city", "b", "a"]


def test_fields_jsonb_cannot_hold_neither_fail_the_write_nor_the_count(pg, owner, other, in_tenant):
    """json stores \\u0000 and lone surrogates, jsonb refuses them: that contact gets no copy (its custom fields
    match no condition) and every other contact is still counted. Before, reading ->> on it failed the count."""
    with in_tenant(owner.tenant_id):
        nul = make_contact(name="Nul", custom_fields={"city": "Lisbon", "note": "a\x00b"})
        lone = make_contact(name="Lone", custom_fields={"city": "Lisbon", "note": "\ud800"})
        db.session.commit()
        stored = db.session.execute(text("SELECT name, custom_fields_jsonb FROM contacts WHERE id IN (:a, :b)"),
                                    {"a": nul.id, "b": lone.id}).all()
        assert sorted(stored) == [("Lone", None), ("Nul", None)]
        assert count_matching(flt({"op": "custom_equals", "key": "city", "text": "lisbon"})) == (2, 2)
        db.session.expire_all()
        assert db.session.get(Contact, nul.id).custom_fields["note"] == "a\x00b"  # the json column has it all
