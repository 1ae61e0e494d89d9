"""Segment counts and previews at 100,000 contacts per workspace (1,000,000 in the database).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mh_bench_contacts REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python -m bench.segments [--rounds 40 --explain]

Uses (and builds when missing) the dataset of bench/contacts.py. For several filters it times, as the
app role with row-level security in the first workspace: the count the preview shows (target p95 <=
100 ms), the first ten contacts, the whole preview partial through the Flask test client as a logged-in
user, and the segments list with every count. `--explain` prints each count query's plan.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.contacts import (  # noqa: E402
    APP_ROLE,
    app_as_role,
    build_dataset,
    explain,
    logged_in_client,
    measure,
    print_load,
    tenant_of,
)


def filters(tag_ids: list[int]) -> dict[str, list[dict]]:
    """The filters timed: each exercises different operators and a different share of the workspace."""
    a, b, c = tag_ids[:3]
    two_weeks_ago = (date.today() - timedelta(days=14)).isoformat()
    return {
        "everyone": [],
        "has tag A": [{"op": "tags_any", "tags": [a]}],
        "has tags A and B, not C": [{"op": "tags_all", "tags": [a, b]}, {"op": "tags_none", "tags": [c]}],
        "city=lisbon, plan=gold, wrote in 30 days": [
            {"op": "custom_equals", "key": "city", "text": "lisbon"},
            {"op": "custom_equals", "key": "plan", "text": "gold"}, {"op": "inbound_within", "days": 30}],
        "name has 'ana', created in 2 weeks": [{"op": "name_contains", "text": "ana"},
                                                {"op": "created_after", "date": two_weeks_ago}],
        "email has corp.test, plan is set": [{"op": "email_contains", "text": "corp.test"},
                                             {"op": "custom_set", "key": "plan"}],
        "phone has 4321": [{"op": "phone_contains", "text": "4321"}],
    }


def form_fields(conditions: list[dict]) -> dict:
    """The segment form's fields for a filter, as the browser posts them."""
    data: dict = {}
    for index, condition in enumerate(conditions):
        for name, value in condition.items():
            data[f"conditions-{index}-{name}"] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


def main() -> int:
    """Time segment counts and previews in the first workspace."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts per workspace")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mh-bench-segments-"))
    build_dataset(args.tenants, args.contacts, tmp)
    app = app_as_role(tmp)
    tenant_id = tenant_of(app)
    client = logged_in_client(app)

    from sqlalchemy import delete, func, select

    from extensions import db
    from models import Contact, Segment, Tag
    from models.tenancy import tenant_scope
    from services.segments import count_matching, matching_contacts, save_segment

    with app.app_context(), tenant_scope(tenant_id):
        tag_ids = list(db.session.scalars(select(Tag.id).order_by(Tag.id).limit(3)))
        total = db.session.scalar(select(func.count(Contact.id)))
        db.session.execute(delete(Segment))
        cases = filters(tag_ids)
        for name, conditions in cases.items():
            save_segment(name, {"version": 1, "conditions": conditions})
        db.session.commit()

    print(f"segments: {total:,} contacts in the workspace, {args.tenants} workspaces, as {APP_ROLE} with "
          f"row-level security, {args.rounds} rounds", flush=True)
    print_load()

    def in_scope(work):
        def call():
            with app.app_context(), tenant_scope(tenant_id):
                result = work()
                db.session.rollback()  # each call is its own transaction, as each request is
                return result
        return call

    for name, conditions in cases.items():
        definition = {"version": 1, "conditions": conditions}
        with app.app_context(), tenant_scope(tenant_id):
            matched, reachable = count_matching(definition)
        print(f"\n[{name}] {matched:,} match, {reachable:,} reachable in bulk")
        measure("  preview count (one query)", in_scope(lambda d=definition: count_matching(d)), args.rounds,
                target_ms=100)
        measure("  preview first 10 (one query)",
                in_scope(lambda d=definition: db.session.scalars(matching_contacts(d).limit(10)).all()), args.rounds)
        data = form_fields(conditions)

        def post(data=data):
            response = client.post("/segments/preview", data=data, headers={"HX-Request": "true"})
            assert response.status_code == 200, response.status_code
        measure("  POST /segments/preview (count + 10, HTTP)", post, args.rounds)
        if args.explain:
            explain(app, tenant_id, f"{name}: count", in_scope(lambda d=definition: count_matching(d)))
            explain(app, tenant_id, f"{name}: first 10",
                    in_scope(lambda d=definition: db.session.scalars(matching_contacts(d).limit(10)).all()))

    def segment_list():
        response = client.get("/segments/")
        assert response.status_code == 200, response.status_code
    print()
    measure(f"GET /segments/ ({len(cases)} segments, every count)", segment_list, max(5, args.rounds // 4))
    print_load()
    return 0


if __name__ == "__main__":
    sys.exit(main())
