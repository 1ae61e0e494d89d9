"""Rules the codebase keeps: only tenancy and admin code may bypass the tenant scope."""
from __future__ import annotations

import io
import re
import tokenize
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
    import models  # noqa: F401
    from extensions import db
    from models.tenancy import TENANT_TABLES

    with_tenant = {t.name for t in db.metadata.sorted_tables if "tenant_id" in t.columns}
    assert with_tenant - TENANT_TABLES == {"users"}


# Only the adapters and the provider factory may tell channel kinds apart; everyone else asks the capabilities.
KIND_RULE_SKIPPED = ("tests/", ".venv/", "migrations/", "bench/", "whatsapp/")
KIND_RULE_ALLOWED = {"services/channels.py"}
_KINDS = r"""['"](?:cloud|gateway|sandbox)['"]"""
KIND_COMPARISON = re.compile("|".join([
    r"\.(?:channel_)?kind\s*(?:==|!=|\bnot\s+in\b|\bin\b)",        # channel.kind == ..., message.channel_kind in (...)
    r"\bchannel_kind\s*(?:==|!=|\bnot\s+in\b|\bin\b)",             # a bare channel_kind variable
    r"(?:==|!=)\s*ChannelKind\.", r"ChannelKind\.\w+\s*(?:==|!=)",  # either side of a comparison
    r"\bcase\s+ChannelKind\.", r"\bmatch\s+[\w.]*kind\b",          # a match statement on the kind
    r"\.kind\.in_\(\s*[\[\(]",                                     # SQL: Channel.kind.in_([...]) with a literal list
    r"\bChannel\.(?:CLOUD|GATEWAY|SANDBOX|KINDS)\b",               # the old constants
    rf"(?:==|!=)\s*{_KINDS}", rf"{_KINDS}\s*(?:==|!=)", rf"\bin\s*[\(\[\{{][^)\]}}]*{_KINDS}",
]))
TEMPLATE_KIND = re.compile(r"\bchannel\.kind\b|\bchannel_kind\b|" + _KINDS)


def _code_lines(source: str) -> list[str]:
    """The source's lines with comments blanked (a comment may name a kind)."""
    lines = source.splitlines()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                row, col = token.start
                lines[row - 1] = lines[row - 1][:col]
    except (tokenize.TokenError, IndentationError):
        pass  # a file Python cannot tokenize fails elsewhere; scan it whole
    return lines


def test_only_adapters_and_the_factory_compare_channel_kinds():
    """Outside whatsapp/ and services/channels.py no code or template branches on a channel's kind."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in KIND_RULE_ALLOWED or rel.startswith(KIND_RULE_SKIPPED):
            continue
        for number, line in enumerate(_code_lines(path.read_text()), 1):
            if KIND_COMPARISON.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    for path in sorted((ROOT / "templates").rglob("*.html")):
        rel = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if TEMPLATE_KIND.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "branches on the channel kind (ask capabilities_for instead):\n" + "\n".join(offenders)


# `exists().where(...)` builds its subquery in Core, where the tenant criteria never reach: on SQLite (no
# row-level security) `select(exists().where(Message.id == 1))` sees every tenant's rows. The scoped form
# is `select(Model.id).where(...).exists()`.
BARE_EXISTS = re.compile(r"\bexists\(\)\s*\.where\(")


def test_subqueries_are_built_from_scoped_selects():
    offenders = [rel for rel, source in python_files()
                 if not rel.startswith("bench/") and BARE_EXISTS.search("\n".join(_code_lines(source)))]
    assert offenders == []
