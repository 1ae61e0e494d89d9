"""A per-tenant inbox version: bumped whenever a message or a conversation changes, read by inbox polls.

Every open inbox polls every few seconds; answering "unchanged" from one Redis read instead of
scanning the tenant's messages is what lets many tabs stay open. The counter is a cache key, not
data: if Redis loses it, a fresh random epoch makes every token new, so no poll misses a change.
"""
from __future__ import annotations

import logging
import secrets

from extensions import AppSession, get_redis
from models import Contact, Message
from models.tenancy import current_tenant_id_or_none, listen_once, releasing_savepoint

log = logging.getLogger(__name__)
COUNTER_KEY = "messagehub:inbox-version:{tenant_id}"
EPOCH_KEY = "messagehub:inbox-version:epoch"
_TOUCHED = "messagehub.inbox_touched"
WATCHED = (Message, Contact)


def init_app(app) -> None:
    """Watch every session of the app for changes to messages and contacts."""
    listen_once(AppSession, "after_flush", _note_flushed)
    listen_once(AppSession, "do_orm_execute", _note_bulk_statement)
    listen_once(AppSession, "after_commit", _bump_touched)
    listen_once(AppSession, "after_soft_rollback", _forget_touched)


def current(tenant_id: int) -> str | None:
    """The tenant's inbox version, or None when Redis cannot be read."""
    redis = get_redis()
    try:
        epoch, count = redis.mget(EPOCH_KEY, COUNTER_KEY.format(tenant_id=tenant_id))
        if epoch is None:
            redis.set(EPOCH_KEY, secrets.token_hex(4), nx=True)
            epoch = redis.get(EPOCH_KEY)
    except Exception:
        log.warning("inbox version unavailable; polls fall back to the database")
        return None
    return f"{epoch.decode()}.{int(count or 0)}"


def touch(session, tenant_id: int | None) -> None:
    """Mark `tenant_id`'s inbox as changed once `session` commits."""
    if tenant_id is not None:
        session.info.setdefault(_TOUCHED, set()).add(tenant_id)


def _note_flushed(session, _flush_context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, WATCHED):
            touch(session, obj.tenant_id)


def _note_bulk_statement(state) -> None:
    # UPDATE/DELETE statements (the outbox's guarded claims, bulk status writes) bypass the flush.
    if (state.is_update or state.is_delete or state.is_insert) and state.bind_mapper is not None \
            and state.bind_mapper.class_ in WATCHED:
        touch(state.session, current_tenant_id_or_none())


def _bump_touched(session) -> None:
    if releasing_savepoint(session):
        return  # pollers are told once the transaction itself commits
    tenants = session.info.pop(_TOUCHED, None)
    if not tenants:
        return
    try:
        with get_redis().pipeline(transaction=False) as pipe:
            for tenant_id in tenants:
                pipe.incr(COUNTER_KEY.format(tenant_id=tenant_id))
            pipe.execute()
    except Exception:  # the poll falls back to the database while Redis is away
        log.warning("could not bump the inbox version of %s tenant(s)", len(tenants))


def _forget_touched(session, previous_transaction) -> None:
    # A savepoint rolled back may have touched nothing that stays, but telling pollers once too often is harmless.
    if not previous_transaction.nested:
        session.info.pop(_TOUCHED, None)
