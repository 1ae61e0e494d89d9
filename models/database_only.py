"""Indexes and columns that exist only in the PostgreSQL schema, created by raw DDL in their migrations.

Trigram (GIN) and descending expression indexes have no SQLite counterpart and no model column to hang on,
so the models do not declare them; `flask db check` (migrations/env.py) is told to leave them alone.
"""
from __future__ import annotations

POSTGRESQL_ONLY_INDEXES = frozenset({
    "ix_messages_body_trgm",          # 0007: message text search
    "ix_contacts_tenant_created_id",  # 0008: the contacts list, newest first
    "ix_contacts_name_trgm",          # 0008: contacts search (replaced by 0015's)
    "ix_contacts_phone_trgm",
    "ix_contacts_email_trgm",
    "ix_contacts_tenant_name_trgm",   # 0015: contacts search within one workspace (btree_gin + pg_trgm)
    "ix_contacts_tenant_phone_trgm",
    "ix_contacts_tenant_email_trgm",
    "ix_contact_tags_tenant_tag",     # 0008: tag filters
    "ix_messages_tenant_media_size",  # 0016: stored media bytes in the usage rollup (partial, expression)
})

# Columns the models do not map (models.contact.CUSTOM_FIELDS_JSONB names the one filters read), by table.
POSTGRESQL_ONLY_COLUMNS = frozenset({
    ("contacts", "custom_fields_jsonb"),  # 0024: custom fields as jsonb, generated from contacts.custom_fields
})
