"""An import whose worker is killed resumes from its last committed chunk (no row twice, no refusal reported twice);
one whose runs keep breaking is reported failed with the reason, never left silently half done."""
from __future__ import annotations

import signal
from datetime import timedelta

from sqlalchemy import func, select, update

from extensions import db
from jobs.contact_import import sweep_imports
from models import Contact, ContactImport, ImportRowError
from models.base import utcnow
from models.tenancy import tenant_scope
from services.contact_import import runner
from services.queueing import BULK_QUEUE
from tests.contact_import.helpers import csv_bytes, outcome, phone, start
from tests.workers import start_worker, stop_worker, wait_until

ROWS = 40_000
BAD_EVERY = 1000  # every 1000th row has a phone that is not one


def _big_file() -> bytes:
    rows = [["name", "phone"]]
    for n in range(ROWS):
        rows.append([f"Person {n}", "0" if n % BAD_EVERY == 7 else phone(n)])
    return csv_bytes(rows)


def _progress(app, tenant_id: int, import_id: int) -> tuple[int, int, int]:
    with app.app_context(), tenant_scope(tenant_id):
        item = db.session.get(ContactImport, import_id)
        found = (item.rows_done, item.created, db.session.scalar(select(func.count(Contact.id))))
        db.session.remove()
        return found


def _make_stale(app, tenant_id: int, import_id: int) -> None:
    """As if the last sign of life was long ago (the sweep's stall period has passed)."""
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(update(ContactImport).where(ContactImport.id == import_id)
                           .values(updated_at=utcnow() - runner.STALL_AFTER - timedelta(seconds=1))
                           .execution_options(synchronize_session=False))
        db.session.commit()
        db.session.remove()


def test_a_worker_killed_mid_import_is_resumed_by_the_sweep_from_its_last_chunk(app, create_user, in_tenant,
                                                                                  run_jobs):
    owner = create_user()
    import_id = start(in_tenant, owner.tenant_id, _big_file())
    doomed = start_worker(app, name="doomed")
    try:
        wait_until(lambda: _progress(app, owner.tenant_id, import_id)[0] >= 2 * runner.CHUNK, timeout=120,
                   interval=0.05, message="two chunks imported")
    finally:
        stop_worker(doomed, signal.SIGKILL)
    rows_done, created, stored = _progress(app, owner.tenant_id, import_id)
    assert rows_done < ROWS, "the worker finished before it was killed"
    # Each chunk commits with its position: what is stored is exactly what the import counted.
    assert rows_done % runner.CHUNK == 0 and created == stored
    item, _ = outcome(in_tenant, owner.tenant_id, import_id)
    assert item.state == "running"

    # Nothing queued for the import (the dispatch of its chunks' domain events may be): Redis knows nothing
    # of the dead worker's job.
    assert run_jobs(BULK_QUEUE) == 0
    _make_stale(app, owner.tenant_id, import_id)
    with app.app_context():
        assert sweep_imports() == {"requeued": 1}
    run_jobs()
    item, refused = outcome(in_tenant, owner.tenant_id, import_id)
    bad = [n + 2 for n in range(ROWS) if n % BAD_EVERY == 7]
    assert (item.state, item.rows_done, item.errors) == ("done", ROWS, len(bad))
    assert [line for line, _reason in refused] == bad  # each refused row reported once, in order
    assert item.created == ROWS - len(bad) == _progress(app, owner.tenant_id, import_id)[2]


def test_runs_that_keep_breaking_end_in_a_failed_import_that_says_why(app, owner, in_tenant, run_jobs, monkeypatch):
    data = csv_bytes([["name", "phone"], ["A", phone(1)], ["B", phone(2)]])
    import_id = start(in_tenant, owner.tenant_id, data)

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(runner.writing, "write_contacts", broken)
    run_jobs()
    item, _ = outcome(in_tenant, owner.tenant_id, import_id)
    assert (item.state, item.attempts, item.error) == ("running", 1, "OSError: disk full")
    for _try in range(runner.MAX_ATTEMPTS):
        _make_stale(app, owner.tenant_id, import_id)
        with app.app_context():
            assert sweep_imports() == {"requeued": 1}
        run_jobs()
    item, _ = outcome(in_tenant, owner.tenant_id, import_id)
    assert item.state == "failed" and item.finished_at is not None
    assert item.error == ("The import stopped at the first row and did not get further in 3 tries: "
                          "OSError: disk full. Rows before that point were imported.")
    with app.app_context():
        assert sweep_imports() == {"requeued": 0}  # a finished import is left alone


def test_the_sweep_leaves_imports_that_are_moving(app, owner, in_tenant):
    start(in_tenant, owner.tenant_id, csv_bytes([["name", "phone"], ["A", phone(1)]]))
    with app.app_context():
        assert sweep_imports() == {"requeued": 0}
    with in_tenant(owner.tenant_id) as session:
        assert session.scalar(select(func.count(ImportRowError.id))) == 0
