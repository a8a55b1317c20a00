"""Voicemails left in the IVR, worked from the console: listed per queue, played, assigned, done.

The recording stays at Twilio. Only its URL is stored, and only this service fetches it, with
the account's credentials (``ivr.understanding.recordings``): the browser gets the audio from
us, never the URL or the credentials.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ivr.desk.models import Task, User, Voicemail
from ivr.flows.steps import Event
from ivr.history import log_events
from ivr.models import Customer, Interaction
from ivr.services import Services
from ivr.understanding.recordings import media_url

log = logging.getLogger(__name__)

OPEN_STATES = ("new", "assigned")
#: Voicemails can be up to 10 minutes (the node's ``max_length``): 600 s of MP3 at 32 kbit/s.
MAX_AUDIO_BYTES = 3 * 1024 * 1024
LIST_LIMIT = 200


class VoicemailError(Exception):
    """A voicemail change that is not allowed (message is for the agent)."""


@dataclass
class VoicemailRow:
    """One line of the console's list: the message and who left it."""

    voicemail: Voicemail
    phone: str | None
    name: str | None
    assignee: str | None


class VoicemailService:
    """Store the voicemail a caller just left (the ``voicemails`` service of flow nodes)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def record(
        self, recording_url: str | None, duration: int | None, queue: str | None, language: str
    ) -> None:
        """Keep the message for the agents of ``queue`` (else the queue the caller waited in)."""
        if self.services.test or not recording_url:  # a console test call leaves no lasting effect
            return
        config = self.services.config
        if media_url(recording_url, config.get("RECORDING_HOSTS") or []) is None:
            log.warning(
                "security: voicemail of call %s has a recording on a foreign host", self.services.call_sid
            )
            return
        session = self.services.session
        interaction = self.services.call_interaction()
        if queue is None:
            queue = session.scalar(
                select(Task.queue)
                .where(Task.call_sid == self.services.call_sid)
                .order_by(Task.id.desc())
                .limit(1)
            )
        session.add(
            Voicemail(
                call_sid=self.services.call_sid,
                interaction_id=interaction.id if interaction else None,
                queue=queue,
                language=language,
                recording_url=recording_url,
                duration=duration,
                status="new",
                created_at=config["CLOCK"](),
            )
        )


def build_voicemails(services: Services) -> VoicemailService:
    """Factory for ``ctx.services.get("voicemails")``."""
    return VoicemailService(services)


def _visible(user: User) -> Any:
    """Agents see their queues' messages and those of no queue; supervisors see all."""
    if user.has_role("supervisor"):
        return Voicemail.id.is_not(None)
    return or_(Voicemail.queue.is_(None), Voicemail.queue.in_(list(user.skills)))


def open_count(session: Session, user: User) -> int:
    """Voicemails nobody has taken yet that this user may take (the badge on the desk)."""
    return (
        session.scalar(
            select(func.count()).select_from(Voicemail).where(Voicemail.status == "new", _visible(user))
        )
        or 0
    )


def voicemail_list(session: Session, user: User, done: bool = False) -> list[VoicemailRow]:
    """Open (or done) voicemails this user may see, by queue and oldest first."""
    states = ("done",) if done else OPEN_STATES
    order = (Voicemail.done_at.desc(),) if done else (Voicemail.queue, Voicemail.created_at)
    rows = session.execute(
        select(Voicemail, Interaction.from_number, Customer.name, User.name)
        .outerjoin(Interaction, Interaction.id == Voicemail.interaction_id)
        .outerjoin(Customer, Customer.id == Interaction.customer_id)
        .outerjoin(User, User.id == Voicemail.assigned_to)
        .where(Voicemail.status.in_(states), _visible(user))
        .order_by(*order, Voicemail.id)
        .limit(LIST_LIMIT)
    ).all()
    return [VoicemailRow(v, phone, name, assignee) for v, phone, name, assignee in rows]


def visible_voicemail(
    session: Session, user: User, voicemail_id: int, lock: bool = False
) -> Voicemail | None:
    """The voicemail if this user may see it."""
    query = select(Voicemail).where(Voicemail.id == voicemail_id, _visible(user))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def _open_voicemail(session: Session, user: User, voicemail_id: int) -> Voicemail:
    """The voicemail, locked, if the user may see it and it is not done yet."""
    voicemail = visible_voicemail(session, user, voicemail_id, lock=True)
    if voicemail is None:
        raise VoicemailError("This voicemail is not in your queues.")
    if voicemail.status == "done":
        raise VoicemailError("This voicemail has been dealt with already.")
    return voicemail


def assign(session: Session, user: User, voicemail_id: int, assignee_id: int, now: datetime) -> Voicemail:
    """Give the voicemail to an agent: agents take it themselves, supervisors give it to anyone."""
    voicemail = _open_voicemail(session, user, voicemail_id)
    if not user.has_role("supervisor"):
        if assignee_id != user.id:
            raise VoicemailError("Only supervisors can give a voicemail to someone else.")
        if voicemail.assigned_to not in (None, user.id):
            raise VoicemailError("This voicemail is a colleague's.")
    assignee = session.get(User, assignee_id)
    if assignee is None or assignee.disabled:
        raise VoicemailError("Choose an active colleague.")
    voicemail.status, voicemail.assigned_to = "assigned", assignee.id
    _log(session, voicemail, "voicemail_assigned", agent=assignee.name, agent_id=assignee.id, by=user.id)
    return voicemail


def mark_done(session: Session, user: User, voicemail_id: int, note: str, now: datetime) -> Voicemail:
    """The voicemail has been dealt with; once done it stays as it was (who, when)."""
    voicemail = _open_voicemail(session, user, voicemail_id)
    if voicemail.assigned_to not in (None, user.id) and not user.has_role("supervisor"):
        raise VoicemailError("This voicemail is a colleague's.")
    voicemail.status, voicemail.done_at, voicemail.done_by = "done", now, user.id
    voicemail.assigned_to = voicemail.assigned_to or user.id
    _log(session, voicemail, "voicemail_done", agent=user.name, agent_id=user.id, note=note.strip()[:2000])
    return voicemail


def _log(session: Session, voicemail: Voicemail, kind: str, **data: Any) -> None:
    if voicemail.interaction_id is None:
        return
    interaction = session.get(Interaction, voicemail.interaction_id)
    if interaction is not None:
        log_events(session, interaction, [Event(kind, {"voicemail": voicemail.id, **data})])
