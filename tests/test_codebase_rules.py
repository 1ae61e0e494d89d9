"""Rules the codebase keeps: only tenancy and admin code may bypass the tenant scope."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {"models/tenancy.py", "models/tenancy_rls.py"}
ALLOWED_PREFIXES = ("blueprints/admin", "services/admin", "migrations/", "tests/", ".venv/", "scripts/")
BYPASS = re.compile(r"\bunscoped\(|\btext\(|messagehub_unscoped|\.execute\(\s*['\"]")


def python_files():
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED or rel.startswith(ALLOWED_PREFIXES):
            continue
        yield rel, path.read_text()


def test_only_tenancy_and_admin_bypass_the_scope():
    offenders = [rel for rel, source in python_files() if BYPASS.search(source)]
    assert offenders == []


def test_every_tenant_table_is_scoped():
    """A table with tenant_id must come from a TenantScoped model (users are the documented exception)."""
    from extensions import db
    from models.tenancy import TENANT_TABLES

    import models  # noqa: F401

    with_tenant = {t.name for t in db.metadata.sorted_tables if "tenant_id" in t.columns}
    assert with_tenant - TENANT_TABLES == {"users"}
