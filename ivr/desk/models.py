"""People who use the console, their presence history, and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db import Base
from ivr.models._types import JSONType, UTCDateTime, utcnow

#: Roles in ascending order of rights: a supervisor may do what an agent may, and more.
ROLES = ("agent", "supervisor", "admin")

#: Presence, as TaskRouter's activities: only "available" agents are offered calls.
ACTIVITIES = ("available", "offered", "busy", "wrapup", "break", "offline")


class User(Base):
    """An agent, supervisor or admin of the console; agents have skills and a device."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="agent")
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: The agent's phone (E.164 or a SIP address) when calls ring a phone, not the browser.
    phone: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Base32 TOTP secret; required for supervisors and admins.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The last TOTP time step used, so a code cannot be replayed.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: Bumped on password reset or disabling: every open session of the user ends.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(default=False)
    activity: Mapped[str] = mapped_column(String(20), default="offline")
    activity_reason: Mapped[str | None] = mapped_column(String(100))
    activity_since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When wrap-up ends by itself (the agent may extend it).
    activity_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # --- what Flask-Login asks of a user object
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        """Disabled users cannot sign in."""
        return not self.disabled

    def get_id(self) -> str:
        """The session's user id; it changes with the epoch, which ends old sessions."""
        return f"{self.id}.{self.session_epoch}"

    def has_role(self, role: str) -> bool:
        """Whether the user's role is ``role`` or above."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def as_dict(self) -> dict[str, Any]:
        """The user without secrets, for lists and the API."""
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "languages": list(self.languages),
            "skills": list(self.skills),
            "phone": self.phone,
            "disabled": self.disabled,
            "two_factor": self.totp_secret is not None,
            "activity": self.activity,
            "activity_reason": self.activity_reason,
            "activity_since": self.activity_since.isoformat(),
        }


class AgentActivity(Base):
    """One change of an agent's presence: the raw events utilisation and AHT are computed from."""

    __tablename__ = "agent_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    activity: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SignInAttempt(Base):
    """A failed sign-in, by hashed e-mail and address (no personal data kept in clear)."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    address_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


#: Task states: waiting in a queue, offered to one agent, connected to them, or over.
TASK_STATES = ("waiting", "offered", "connected", "completed", "canceled")


class Task(Base):
    """A caller waiting for an agent (TaskRouter's task): routed exactly once at a time."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The caller's call; a transferred call has one task per leg (queue or agent) it went through.
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    queue: Mapped[str] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(5))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    #: When the caller joined the queue: longest waiting first, kept when an offer fails.
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    offered_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The CallSid of the call ringing the agent.
    agent_call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(30))
    offers: Mapped[int] = mapped_column(Integer, default=0)
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


#: Voicemail states: new (nobody has it), assigned to an agent, done.
VOICEMAIL_STATES = ("new", "assigned", "done")


class Voicemail(Base):
    """A message a caller left in the IVR; the recording stays at Twilio and is fetched by us."""

    __tablename__ = "voicemails"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    #: The queue whose agents see it (the node's ``queue:``, else the queue the caller waited in).
    queue: Mapped[str | None] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(5), default="de")
    #: Twilio's recording URL: only ever fetched server-side, never sent to a browser.
    recording_url: Mapped[str] = mapped_column(String(500))
    duration: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="new")
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


Index("ix_voicemails_status", Voicemail.status, Voicemail.queue, Voicemail.created_at)
Index("ix_tasks_routing", Task.status, Task.queue, Task.priority, Task.arrived_at)
# An agent's current call and, in wrap-up, their last one: looked up by every open console
# stream four times a second, so it must not scan the whole task history (benchmarks/desk.py).
Index("ix_tasks_agent", Task.offered_to, Task.status, Task.ended_at)
Index("ix_sign_in_attempts_email", SignInAttempt.email_hash, SignInAttempt.at)
Index("ix_sign_in_attempts_address", SignInAttempt.address_hash, SignInAttempt.at)
