"""The registrations of every table with personal data (add new tables here: docs/privacy.md)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, exists, or_, select

from ivr.db import Base
from ivr.privacy.registry import (
    CALL_SID,
    CUSTOMER,
    EMAIL,
    INTERACTION,
    ORDER,
    PHONE,
    PersonalTable,
    not_personal,
    register,
)

# Rows found by the call they belong to.
_BY_CALL = {"interaction_id": INTERACTION, "call_sid": CALL_SID}


def _open_callback(table: Table) -> ColumnElement[bool]:
    from callbacks.models import OPEN

    return table.c.status.in_(OPEN)


def _customer_in_use(table: Table) -> ColumnElement[bool]:
    """A customer is purged only once nothing refers to them any more."""
    tables = Base.metadata.tables
    refs = [
        exists(select(1).where(t.c.customer_id == table.c.id))
        for t in tables.values()
        if "customer_id" in t.c and t.name != "customers"
    ]
    return or_(*refs)


def _live_call(table: Table) -> ColumnElement[bool]:
    """A call whose interaction has not ended (an abandoned call ends unfinished, and goes)."""
    interactions = Base.metadata.tables["interactions"]
    return exists(
        select(1).where(interactions.c.id == table.c.interaction_id, interactions.c.ended_at.is_(None))
    )


def register_core() -> None:
    """Register the core's and the shipped capabilities' tables."""
    register(
        PersonalTable(
            "customers",
            {"id": CUSTOMER, "phone": PHONE, "email": EMAIL},
            "history",
            "created_at",
            keep=_customer_in_use,
        )
    )
    # Interactions are anonymised, not deleted: outcome, intent, language, times and duration
    # stay for the KPIs.
    register(
        PersonalTable(
            "interactions",
            {
                "id": INTERACTION,
                "customer_id": CUSTOMER,
                "from_number": PHONE,
                "to_number": PHONE,
                "call_sid": CALL_SID,
            },
            "history",
            "started_at",
            anonymise={"customer_id": None, "from_number": None, "to_number": None},
        )
    )
    register(PersonalTable("interaction_events", {"interaction_id": INTERACTION}, "traces", "at"))
    # A call's KPI facts (ivr/insights/callfacts.py) go with its events, as if computed from them.
    register(PersonalTable("kpi_call_facts", {"interaction_id": INTERACTION}, "traces", "started_at"))
    register(PersonalTable("calls", _BY_CALL, "traces", "updated_at", keep=_live_call, spare_live=True))
    register(PersonalTable("transcripts", _BY_CALL, "transcripts", "created_at"))
    register(
        PersonalTable(
            "recordings",
            _BY_CALL,
            age="created_at",
            kind_column="kind",
            kinds_by_value={
                "voicemail": "voicemails",
                "conversation": "recordings",
                "speech": "speech_recordings",
            },
        )
    )
    register(PersonalTable("consents", _BY_CALL))
    register(
        PersonalTable("heard_speech", {"call_sid": CALL_SID}, "transcripts", "created_at", spare_live=True)
    )
    register(
        PersonalTable(
            "orders",
            {"customer_id": CUSTOMER, "phone": PHONE, "email": EMAIL, "order_number": ORDER},
            "orders",
            "updated_at",
        )
    )
    register(
        PersonalTable(
            "order_verification_failures", {"caller": PHONE, "order_number": ORDER}, "security", "at"
        )
    )
    register(
        PersonalTable(
            "callback_requests",
            {"phone": PHONE, "customer_id": CUSTOMER, "call_sid": CALL_SID, "interaction_id": INTERACTION},
            "callbacks",
            "updated_at",
            keep=_open_callback,
        )
    )
    register(PersonalTable("callback_submissions", {"phone": PHONE, "caller": PHONE}, "security", "at"))
    register(
        PersonalTable(
            "tasks",
            _BY_CALL,
            "traces",
            "arrived_at",
            spare_live=True,
            keep=lambda t: t.c.status.in_(("waiting", "offered", "connected")),
        )
    )
    register(PersonalTable("sign_in_attempts", {}, "security", "at"))

    not_personal("users", "staff accounts (agents, supervisors, admins), managed in the console")
    not_personal("agents", "staff who take callbacks, managed with `ivr agents`")
    not_personal("agent_activities", "staff presence changes")
    not_personal("api_keys", "client systems' keys")
    not_personal("flow_versions", "call-flow definitions")
    not_personal("privacy_audit", "ids only; the audit trail must outlive what it audits")
    not_personal("erasures", "keyed hashes and counts only")
    not_personal("kpi_facts_state", "how far the KPI facts are current: a version and an event id")
