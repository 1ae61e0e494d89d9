"""Statements over many rows whose size does not grow with the rows: one array parameter per column on PostgreSQL.

psycopg rewrites every placeholder of a statement before sending it, and caches that work only for short
statements. An IN list of 2,000 ids, a CASE with a branch per row or a multi-row VALUES cost the batch sender
and the broadcast feeder more CPU in the driver than the server spent running them. On PostgreSQL these
helpers send a column of values as one array (`= ANY(:ids)`, `unnest(:ids, :values)`), so the statement text
is the same whatever the count; elsewhere (SQLite) they build the plain forms.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import any_, bindparam, case, column, func, update
from sqlalchemy.dialects.postgresql import ARRAY

from extensions import db


def on_postgresql() -> bool:
    """Whether the session's database is PostgreSQL (arrays and unnest() are available)."""
    return db.session.get_bind().dialect.name == "postgresql"


def among(target, values, kind) -> Any:
    """`target` is one of `values` (of SQL type `kind`): `= ANY(array)` on PostgreSQL, IN elsewhere."""
    values = list(values)
    if on_postgresql():
        return target == any_(bindparam(None, values, type_=ARRAY(kind)))
    return target.in_(values)


def unnested(name: str, *, ordinality: str | None = None, **arrays: tuple[list, Any]):
    """PostgreSQL only: the arrays (values, element type) side by side as the rows of a table called `name`.

    With `ordinality`, a column of that name numbers the rows from 1 in array order.
    """
    params = [bindparam(f"{name}_{key}", values, type_=ARRAY(kind)) for key, (values, kind) in arrays.items()]
    columns = [column(key, kind) for key, (_values, kind) in arrays.items()]
    return func.unnest(*params).table_valued(*columns, with_ordinality=ordinality).render_derived(name=name)


def update_each(model, target: str, values: Mapping[int, Any], kind, *guards, **common):
    """An UPDATE giving each row of `model` (by id) its own value of column `target` from `values` ({id: value}).

    `guards` are further conditions each row must meet; `common` columns are set alike on every row.
    """
    if on_postgresql():
        pairs = unnested(f"{model.__tablename__}_each", row_id=(list(values), model.__table__.c.id.type),
                         value=(list(values.values()), kind))
        stmt = update(model).where(model.id == pairs.c.row_id, *guards).values({target: pairs.c.value, **common})
    else:
        stmt = update(model).where(model.id.in_(list(values)), *guards).values(
            {target: case(dict(values), value=model.id), **common})
    return stmt.execution_options(synchronize_session=False)
