"""Chunks and runs: a file imported in many small chunks, each run handing over to the next after one chunk,
stores and reports exactly what one run over the whole file does (the next chunk is read ahead meanwhile)."""
from __future__ import annotations

from services.contact_import import runner
from tests.contact_import.helpers import contacts, csv_bytes, outcome, phone, start


def _file() -> bytes:
    rows = [["name", "phone", "email", "tags"]]
    for n in range(40):
        number = phone(n % 17) if n % 5 else f"55{n}"  # repeats across chunks, and a bad phone every 5th row
        rows.append([f"P{n}", number, f"p{n}@example.com" if n % 7 else "nope", f"t{n % 3}, all"])
    return csv_bytes(rows)


def _imported(in_tenant, run_jobs, tenant_id: int) -> tuple:
    import_id = start(in_tenant, tenant_id, _file(), tag_ids=[])
    finished = run_jobs()
    item, refused = outcome(in_tenant, tenant_id, import_id)
    stored = sorted((c.phone, c.name, c.email, tuple(sorted(t.name for t in c.tags)))
                    for c in contacts(in_tenant, tenant_id).values())
    return finished, (item.state, item.rows_done, item.created, item.errors), refused, stored


def test_many_runs_of_one_small_chunk_each_import_the_same_as_one_run(app, create_user, in_tenant, run_jobs,
                                                                     monkeypatch):
    whole = _imported(in_tenant, run_jobs, create_user().tenant_id)
    monkeypatch.setattr(runner, "CHUNK", 3)
    monkeypatch.setattr(runner, "RUN_SECONDS", -1.0)  # every run hands over after its first chunk
    pieces = _imported(in_tenant, run_jobs, create_user().tenant_id)
    assert whole[0] == 1 and pieces[0] >= 40 // 3  # one job, against one job a chunk
    assert pieces[1:] == whole[1:]
    assert whole[1] == ("done", 40, 17, 23)  # 17 distinct phones; 8 bad phones, 5 bad emails, 10 repeats
    refused = dict(whole[2])
    assert sorted(refused)[:6] == [2, 7, 9, 12, 16, 17]
    assert refused[20] == f"Same phone number ({phone(1)}) as line 3."  # line 3 was in the first chunk
    assert refused[41] == f"Same phone number ({phone(5)}) as line 24."
