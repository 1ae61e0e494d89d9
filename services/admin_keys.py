"""Re-encrypting every stored secret under the newest key (an install-wide admin operation)."""
from __future__ import annotations

from sqlalchemy import Text, select, type_coerce, update

from extensions import db
from models.tenancy import unscoped
from models.types import EncryptedText, rotate


def encrypted_columns():
    """(table, [column names]) for every model with EncryptedText columns."""
    for mapper in db.Model.registry.mappers:
        names = [c.key for c in mapper.columns if isinstance(c.type, EncryptedText)]
        if names:
            yield mapper.local_table, names


def rotate_encryption_keys() -> int:
    """Re-encrypt every secret with the first configured key; returns how many values were rotated.

    Ciphertext is read and written as plain text (type_coerce), so no secret is decrypted into
    the ORM and every tenant's rows are reached in one pass.
    """
    rotated = 0
    with unscoped():
        for table, names in encrypted_columns():
            pk = list(table.primary_key.columns)[0]
            stored = [type_coerce(table.c[name], Text) for name in names]
            for row in db.session.execute(select(pk, *stored)).all():
                values = {table.c[name]: type_coerce(rotate(value), Text)
                          for name, value in zip(names, row[1:], strict=True) if value is not None}
                if values:
                    db.session.execute(update(table).where(pk == row[0]).values(values))
                    rotated += len(values)
    return rotated
