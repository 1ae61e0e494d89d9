"""The tenant scope: fail closed, scoped reads and writes, and the database's own refusal."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Contact, ContactTag, Tag
from models.tenancy import TenantScopeError, tenant_scope, unscoped
from tests.factories import link, make_contact, make_tag


@pytest.fixture
def two_tenants(app, create_user, in_tenant):
    """Tenants A and B, each with two contacts, one tag, and a link."""
    a, b = create_user(tenant_name="A"), create_user(tenant_name="B")
    ids = {}
    for user, key in ((a, "a"), (b, "b")):
        with in_tenant(user.tenant_id):
            c1, c2 = make_contact(name=f"{key}-one"), make_contact(name=f"{key}-two")
            tag = make_tag(name=f"{key}-tag")
            link(c1, tag)
            ids[key] = {"tenant": user.tenant_id, "contacts": [c1.id, c2.id], "tag": tag.id}
    return ids


def test_query_without_tenant_fails_closed(app, two_tenants):
    with app.app_context():
        with pytest.raises(TenantScopeError):
            db.session.scalars(select(Contact)).all()
        with pytest.raises(TenantScopeError):
            db.session.scalar(select(func.count()).select_from(select(Contact).subquery()))
        with pytest.raises(TenantScopeError):
            db.session.execute(update(Contact).values(notes="x"))
        with pytest.raises(TenantScopeError):
            db.session.execute(delete(Tag))


def test_saving_without_tenant_fails_closed(app, two_tenants):
    with app.app_context():
        db.session.add(Contact(name="Nobody's", phone="+14155550999"))
        with pytest.raises(TenantScopeError):
            db.session.flush()
        db.session.rollback()


def test_same_query_under_two_scopes_sees_own_rows(app, two_tenants):
    with app.app_context():
        for key in ("a", "b"):
            with tenant_scope(two_tenants[key]["tenant"]):
                names = sorted(db.session.scalars(select(Contact.name)))
                assert names == [f"{key}-one", f"{key}-two"]
                # Column-only selects are scoped too.
                assert db.session.scalar(select(func.count(Contact.id))) == 2


def test_joins_and_lazy_loads_are_scoped(app, two_tenants):
    with app.app_context(), tenant_scope(two_tenants["a"]["tenant"]):
        rows = db.session.execute(
            select(Contact.name, Tag.name).join(ContactTag, ContactTag.contact_id == Contact.id)
            .join(Tag, Tag.id == ContactTag.tag_id)
        ).all()
        assert rows == [("a-one", "a-tag")]
        contact = db.session.scalar(select(Contact).where(Contact.name == "a-one"))
        db.session.expire(contact)
        assert [t.name for t in contact.tags] == ["a-tag"]
        # Outer join from a tenant table to another: B's tags never join in.
        tags = db.session.scalars(select(Tag).outerjoin(ContactTag, ContactTag.tag_id == Tag.id)).all()
        assert [t.name for t in tags] == ["a-tag"]


def test_pagination_counts_are_scoped(app, two_tenants):
    with app.test_request_context(), tenant_scope(two_tenants["b"]["tenant"]):
        page = db.paginate(select(Contact).order_by(Contact.id), per_page=1)
        assert page.total == 2
        assert page.pages == 2
        assert page.items[0].name == "b-one"


def test_bulk_update_and_delete_are_scoped(app, two_tenants):
    with app.app_context():
        with tenant_scope(two_tenants["a"]["tenant"]):
            db.session.execute(update(Contact).values(notes="touched"))
            db.session.execute(delete(ContactTag))
            db.session.commit()
        with tenant_scope(two_tenants["b"]["tenant"]):
            assert set(db.session.scalars(select(Contact.notes))) == {None}
            assert db.session.scalar(select(func.count(ContactTag.id))) == 1
        with tenant_scope(two_tenants["a"]["tenant"]):
            assert set(db.session.scalars(select(Contact.notes))) == {"touched"}
            assert db.session.scalar(select(func.count(ContactTag.id))) == 0


def test_object_of_another_tenant_is_refused_at_flush(app, two_tenants):
    with app.app_context(), tenant_scope(two_tenants["a"]["tenant"]):
        db.session.add(Contact(name="Intruder", phone="+14155550777", tenant_id=two_tenants["b"]["tenant"]))
        with pytest.raises(TenantScopeError):
            db.session.flush()
        db.session.rollback()


def test_new_objects_are_stamped_with_current_tenant(app, two_tenants):
    with app.app_context(), tenant_scope(two_tenants["b"]["tenant"]):
        contact = make_contact(name="stamped")
        assert contact.tenant_id == two_tenants["b"]["tenant"]


def test_identity_map_cannot_leak_through_get_or_404(app, two_tenants):
    from werkzeug.exceptions import NotFound

    from blueprints.common import get_or_404

    a_contact = two_tenants["a"]["contacts"][0]
    with app.test_request_context():
        with tenant_scope(two_tenants["a"]["tenant"]):
            assert get_or_404(Contact, a_contact).name == "a-one"  # now in the identity map
        with tenant_scope(two_tenants["b"]["tenant"]):
            with pytest.raises(NotFound):
                get_or_404(Contact, a_contact)


def test_database_refuses_cross_tenant_link(app, two_tenants):
    """Even with the ORM guard out of the way, composite keys stop A's contact getting B's tag."""
    with app.app_context(), unscoped():
        db.session.add(ContactTag(tenant_id=two_tenants["a"]["tenant"], contact_id=two_tenants["a"]["contacts"][1],
                                  tag_id=two_tenants["b"]["tag"]))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_scope_is_restored_after_nested_blocks(app, two_tenants):
    from models.tenancy import current_tenant_id_or_none

    with tenant_scope(two_tenants["a"]["tenant"]):
        with tenant_scope(two_tenants["b"]["tenant"]):
            assert current_tenant_id_or_none() == two_tenants["b"]["tenant"]
        assert current_tenant_id_or_none() == two_tenants["a"]["tenant"]
    assert current_tenant_id_or_none() is None


def test_scoping_is_switched_on_by_init_app_not_by_importing_models(app):
    """Listeners belong to the app's own session class and engines, never to SQLAlchemy's globals."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from extensions import AppSession
    from models import tenancy, tenancy_rls

    assert event.contains(AppSession, "do_orm_execute", tenancy._scope_statement)
    assert event.contains(AppSession, "before_flush", tenancy._stamp_and_check)
    assert not event.contains(Session, "do_orm_execute", tenancy._scope_statement)
    assert not event.contains(Engine, "before_cursor_execute", tenancy_rls._apply_tenant_settings)
    assert not event.contains(Engine, "connect", tenancy._sqlite_foreign_keys)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        assert event.contains(engine, "before_cursor_execute", tenancy_rls._apply_tenant_settings)
    else:
        assert event.contains(engine, "connect", tenancy._sqlite_foreign_keys)


def test_exists_subqueries_built_from_a_select_are_scoped(app, two_tenants):
    """The form the codebase rules require: another tenant's row is invisible inside EXISTS."""
    other_contact = two_tenants["b"]["contacts"][0]
    own_contact = two_tenants["a"]["contacts"][0]
    with app.app_context(), tenant_scope(two_tenants["a"]["tenant"]):
        def visible(contact_id):
            return db.session.scalar(select(select(Contact.id).where(Contact.id == contact_id).exists()))

        assert visible(own_contact) is True
        assert visible(other_contact) is False
