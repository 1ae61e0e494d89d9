"""Jobs enter their tenant's scope from their arguments and run on a real RQ worker."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from extensions import db, get_redis
from jobs.context import app_job, tenant_job
from models import Contact
from models.tenancy import TenantScopeError
from services.queueing import queue
from tests.factories import make_contact


@tenant_job
def count_contacts(tenant_id: int) -> int:
    """A tenant job used by these tests."""
    return db.session.scalar(select(func.count(Contact.id)))


@app_job
def unscoped_count() -> int:
    """A job that forgot its tenant: must fail closed."""
    return db.session.scalar(select(func.count(Contact.id)))


def test_tenant_job_sees_only_its_tenant(app, create_user, in_tenant, run_jobs):
    a, b = create_user(), create_user()
    with in_tenant(a.tenant_id):
        make_contact(), make_contact()
    with in_tenant(b.tenant_id):
        make_contact()
    assert count_contacts(a.tenant_id) == 2
    assert count_contacts(b.tenant_id) == 1
    with pytest.raises(TenantScopeError):
        unscoped_count()


def test_jobs_run_on_a_real_worker(app, create_user, in_tenant, run_jobs):
    user = create_user()
    with in_tenant(user.tenant_id):
        make_contact()
    with app.app_context():
        q = queue("test")
        good = q.enqueue(count_contacts, user.tenant_id)
        bad = q.enqueue(unscoped_count)
    # One finished, one failed: the count must tell them apart.
    assert run_jobs("test") == 1
    with app.app_context():
        assert good.get_status() == "finished" and good.return_value() == 1
        assert bad.get_status() == "failed"
        assert "TenantScopeError" in bad.latest_result().exc_string


def test_cron_heartbeat_job(app):
    from jobs.maintenance import HEARTBEAT_KEY, record_heartbeat

    with app.app_context():
        stamp = record_heartbeat()
        assert float(get_redis().get(HEARTBEAT_KEY)) == stamp
