"""Every table that holds personal data, and how to find, export, erase and expire a person's rows.

Registering a table is one ``register(PersonalTable(...))`` call in ``ivr.privacy.tables``
(see docs/privacy.md). A test fails for any table with personal-looking columns that is
neither registered nor listed in ``NOT_PERSONAL`` with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, false, or_, select

#: The identifiers a person's rows are found by (see ``Subject``).
CUSTOMER, PHONE, EMAIL, INTERACTION, CALL_SID, ORDER = (
    "customer",
    "phone",
    "email",
    "interaction",
    "call_sid",
    "order",
)
KEYS = (CUSTOMER, PHONE, EMAIL, INTERACTION, CALL_SID, ORDER)

#: Retention kinds (days configured per kind, ivr.privacy.retention).
RETENTION_KINDS = (
    "recordings",
    "speech_recordings",
    "voicemails",
    "transcripts",
    "traces",
    "callbacks",
    "surveys",
    "orders",
    "returns",
    "security",
    "history",
)


@dataclass(frozen=True)
class Subject:
    """One person, resolved to every identifier their rows carry."""

    customer_ids: frozenset[int] = frozenset()
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    interaction_ids: frozenset[int] = frozenset()
    call_sids: frozenset[str] = frozenset()
    order_numbers: frozenset[str] = frozenset()
    #: Calls of the person still in progress: rows that keep them running stay until they end.
    live_call_sids: frozenset[str] = frozenset()
    live_interaction_ids: frozenset[int] = frozenset()

    def values(self, key: str) -> frozenset[Any]:
        """The person's identifiers of one key kind."""
        return {
            CUSTOMER: self.customer_ids,
            PHONE: self.phones,
            EMAIL: self.emails,
            INTERACTION: self.interaction_ids,
            CALL_SID: self.call_sids,
            ORDER: self.order_numbers,
        }[key]

    @property
    def empty(self) -> bool:
        """Nothing is stored about this person."""
        return not (self.customer_ids or self.phones or self.emails or self.interaction_ids)


Filter = Callable[[Table], ColumnElement[bool]]


@dataclass(frozen=True)
class PersonalTable:
    """How one table's personal rows are found, erased and expired."""

    name: str
    #: column -> identifier kind (``CUSTOMER``, ``PHONE``, …): a row is the person's if any matches.
    keys: Mapping[str, str] = field(default_factory=dict)
    #: Retention kind, and the timestamp column the age is measured by; None = no own retention.
    kind: str | None = None
    age: str | None = None
    #: A column whose value picks the retention kind per row (recordings: voicemail or not);
    #: rows with a value not listed fall under ``kind`` (none if ``kind`` is None).
    kind_column: str | None = None
    kinds_by_value: Mapping[str, str] = field(default_factory=dict)
    #: ``(column, parent table)``: a row is also the person's if ``column`` refers to a row of
    #: the registered parent table that is theirs (a return's deliveries: by ``return_id``).
    parent: tuple[str, str] | None = None
    #: None: rows are deleted. Otherwise these columns are set instead (the row's counts survive).
    anonymise: Mapping[str, Any] | None = None
    #: Rows the purge must never touch (an open callback request, a customer with history).
    keep: Filter | None = None
    #: Rows of live calls stay (an erasure finishes them after the call); by call_sid/interaction_id.
    spare_live: bool = False

    @property
    def searchable(self) -> bool:
        """A person's rows can be found in it (for export and erasure)."""
        return bool(self.keys or self.parent)

    def rows_of(self, table: Table, subject: Subject, spare_live: bool = False) -> ColumnElement[bool]:
        """The condition selecting the person's rows (without live calls' if ``spare_live``)."""
        conditions = []
        for column, key in self.keys.items():
            values = subject.values(key)
            if values:
                conditions.append(table.c[column].in_(sorted(values)))
        if self.parent is not None:
            column, name = self.parent
            parent_table = table.metadata.tables[name]
            (pk,) = parent_table.primary_key.columns
            theirs = REGISTRY[name].rows_of(parent_table, subject)
            conditions.append(table.c[column].in_(select(pk).where(theirs)))
        if not conditions:
            return false()
        found = or_(*conditions)
        if spare_live and self.spare_live:
            found = found & ~self.live_rows(table, subject)
        return found

    def live_rows(self, table: Table, subject: Subject) -> ColumnElement[bool]:
        """Rows of the person's live calls."""
        live = []
        if "call_sid" in table.c and subject.live_call_sids:
            live.append(table.c.call_sid.in_(sorted(subject.live_call_sids)))
        if "interaction_id" in table.c and subject.live_interaction_ids:
            live.append(table.c.interaction_id.in_(sorted(subject.live_interaction_ids)))
        return or_(*live) if live else false()


#: table name -> its entry, in registration order.
REGISTRY: dict[str, PersonalTable] = {}
#: Tables with personal-looking columns that hold no customer data, and why.
NOT_PERSONAL: dict[str, str] = {}


def register(entry: PersonalTable) -> PersonalTable:
    """Declare a table's personal data (replaces an earlier entry of the same table)."""
    for key in entry.keys.values():
        if key not in KEYS:
            raise ValueError(f"{entry.name}: unknown identifier kind {key!r}")
    for kind in (entry.kind, *entry.kinds_by_value.values()):
        if kind is not None and kind not in RETENTION_KINDS:
            raise ValueError(f"{entry.name}: unknown retention kind {kind!r}")
    if entry.parent is not None and entry.parent[1] not in REGISTRY:
        raise ValueError(f"{entry.name}: register its parent {entry.parent[1]!r} first")
    REGISTRY[entry.name] = entry
    return entry


def not_personal(table: str, reason: str) -> None:
    """Declare that a table with personal-looking columns holds no customer data."""
    NOT_PERSONAL[table] = reason


def entries() -> dict[str, PersonalTable]:
    """The registry, with the core's tables registered on first use."""
    if "customers" not in REGISTRY:
        from ivr.privacy.tables import register_core

        register_core()
    return REGISTRY
