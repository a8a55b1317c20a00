"""Every table that could hold personal data is registered for export, erasure and retention."""

from __future__ import annotations

import re

from sqlalchemy import ForeignKey

import ivr.models  # noqa: F401
import ivr.plugins  # noqa: F401
from ivr.db import Base
from ivr.privacy.registry import NOT_PERSONAL, RETENTION_KINDS, entries
from ivr.privacy.retention import DEFAULT_RETENTION_DAYS

#: Column names that look like personal data (phone numbers, names, addresses, what was said).
PERSONAL = re.compile(
    r"phone|number|from|to_|email|name|transcript|postal|address|recording|text|caller|items"
)
#: Columns that match the pattern above but are known not to be personal.
HARMLESS = {"tracking_number", "password_hash", "email_hash", "address_hash", "flow_version_id"}


def _personal_columns(table) -> list[str]:  # type: ignore[no-untyped-def]
    found = []
    for column in table.columns:
        if column.name in HARMLESS:
            continue
        customer_fk = any(
            isinstance(fk, ForeignKey) and fk.column.table.name == "customers" for fk in column.foreign_keys
        )
        if (
            PERSONAL.search(column.name)
            or customer_fk
            or column.name in ("customer_id", "data", "context", "variables")
        ):
            found.append(column.name)
    return found


def test_every_table_with_personal_looking_columns_is_registered():
    registry = entries()
    missing = {
        table.name: _personal_columns(table)
        for table in Base.metadata.sorted_tables
        if _personal_columns(table) and table.name not in registry and table.name not in NOT_PERSONAL
    }
    assert not missing, (
        "these tables have personal-looking columns but are not in the privacy registry "
        f"(register them in ivr/privacy/tables.py, see docs/privacy.md): {missing}"
    )


def test_registered_tables_exist_and_name_their_columns():
    tables = Base.metadata.tables
    for name, entry in entries().items():
        assert name in tables, f"{name} is registered but no such table"
        for column in (*entry.keys, *(entry.anonymise or {}), entry.age, entry.kind_column):
            assert column is None or column in tables[name].c, f"{name}.{column} does not exist"
        assert entry.kind is not None or entry.kinds_by_value or not entry.age, name


def test_every_retention_kind_has_a_default():
    assert set(DEFAULT_RETENTION_DAYS) == set(RETENTION_KINDS)
    assert all(days > 0 for days in DEFAULT_RETENTION_DAYS.values())


def test_a_new_table_with_a_phone_column_fails_the_check():
    from sqlalchemy import Column, Integer, MetaData, String, Table

    table = Table(
        "returns_test", MetaData(), Column("id", Integer, primary_key=True), Column("phone", String(20))
    )
    assert _personal_columns(table) == ["phone"]
