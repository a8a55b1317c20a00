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


def _referenced(table: Table) -> ColumnElement[bool]:
    """Rows another table still refers to (by foreign key, or a ``customer_id`` for customers).

    A customer or a return is purged only once nothing refers to it any more.
    """
    refs = []
    for other in Base.metadata.tables.values():
        if other.name == table.name:
            continue
        for column in other.columns:
            by_key = any(fk.column.table.name == table.name for fk in column.foreign_keys)
            if by_key or (table.name == "customers" and column.name == "customer_id"):
                refs.append(exists(select(1).where(column == table.c.id)))
    return or_(*refs)


def _return_open(table: Table) -> ColumnElement[bool]:
    """Returns still on their way to a refund, or with deliveries left."""
    from ivr.returns.models import IN_PROGRESS

    return table.c.state.in_(IN_PROGRESS) | _referenced(table)


def _delivery_pending(table: Table) -> ColumnElement[bool]:
    return table.c.state == "pending"


def _webhook_pending(table: Table) -> ColumnElement[bool]:
    return table.c.delivered_at.is_(None) & table.c.failed_at.is_(None)


#: Interaction events of the in-call survey: kept as long as survey answers ("surveys").
SURVEY_EVENTS = ("survey_invited", "survey_passed", "survey_skipped", "survey_consent", "survey_answer")


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
            keep=_referenced,
        )
    )
    # Interactions are anonymised, not deleted: outcome, intent, language, times and duration
    # stay for the KPIs. Other channels' subject, summary and reference are free text: they go.
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
            anonymise={
                "customer_id": None,
                "from_number": None,
                "to_number": None,
                "subject": None,
                "summary": None,
                "external_ref": None,
            },
        )
    )
    # Survey answers (and invitations, which the cool-down counts) are events kept as "surveys".
    register(
        PersonalTable(
            "interaction_events",
            {"interaction_id": INTERACTION},
            "traces",
            "at",
            kind_column="kind",
            kinds_by_value={kind: "surveys" for kind in SURVEY_EVENTS},
        )
    )
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
    # The desk's voicemail inbox; the recording itself is in ``recordings`` (deleted at Twilio).
    register(PersonalTable("voicemails", _BY_CALL, "voicemails", "created_at"))
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
    _register_customer_history()
    _register_returns()

    not_personal("users", "staff accounts (agents, supervisors, admins), managed in the console")
    not_personal("agents", "staff who take callbacks, managed with `ivr agents`")
    not_personal("agent_activities", "staff presence changes")
    not_personal("api_keys", "client systems' keys")
    not_personal("flow_versions", "call-flow definitions")
    not_personal("privacy_audit", "ids only; the audit trail must outlive what it audits")
    not_personal("erasures", "keyed hashes and counts only")
    not_personal("alarms", "counts per intent and window only, no contact or caller")
    not_personal("kpi_facts_state", "how far the KPI facts are current: a version and an event id")


def _register_customer_history() -> None:
    """The shared customer history (ivr/customers): merges, stored API answers, webhooks."""
    # Ids only, but they tie two of the person's records together; they refer to the customer.
    register(
        PersonalTable("customer_merges", {"into_id": CUSTOMER, "merged_id": CUSTOMER}, "history", "merged_at")
    )
    # The stored answer repeats the contact (subject, summary, the customer's data).
    # `ivr customers prune` forgets keys after 24 h; the purge is the backstop.
    register(PersonalTable("idempotency_keys", {"customer_id": CUSTOMER}, "traces", "created_at"))
    # Payloads carry the contact's subject and summary; sent ones go after 7 days (prune).
    register(
        PersonalTable(
            "webhook_deliveries",
            {"interaction_id": INTERACTION},
            "traces",
            "created_at",
            keep=_webhook_pending,
        )
    )


def _register_returns() -> None:
    """Returns (ivr/returns): the return with its items, its deliveries, opt-ins, delay notices."""
    register(
        PersonalTable(
            "returns",
            {"customer_id": CUSTOMER, "order_number": ORDER, "interaction_id": INTERACTION},
            "returns",
            "updated_at",
            keep=_return_open,
        )
    )
    register(
        PersonalTable(
            "return_deliveries",
            parent=("return_id", "returns"),
            kind="returns",
            age="created_at",
            keep=_delivery_pending,
        )
    )
    # An opt-in stays while it holds (proof of consent); a withdrawn one goes `history` days
    # after the withdrawal.
    register(PersonalTable("contact_consents", {"phone": PHONE}, "history", "withdrawn_at"))
    register(PersonalTable("delay_notices", {"order_number": ORDER}, "orders", "created_at"))
