"""Operations on console users: create, disable, passwords, sign-in checks, second factor."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, object_session
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.desk.callbacks import agent_profile
from ivr.desk.models import ROLES, SignInAttempt, User
from ivr.models._types import utcnow

MIN_PASSWORD = 12
MAX_PASSWORD = 200
#: Failed sign-ins allowed per e-mail address / per client address within the window.
EMAIL_LIMIT = 5
ADDRESS_LIMIT = 20
THROTTLE_WINDOW = timedelta(minutes=15)
ISSUER = "Hotline"

# Checked when the e-mail is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


class UserError(Exception):
    """A user operation that cannot be done (message is for the admin)."""


@dataclass(frozen=True)
class NewUser:
    """What ``ivr users add`` and the admin page know about a new user."""

    email: str
    name: str
    role: str = "agent"
    languages: tuple[str, ...] = ("de",)
    skills: tuple[str, ...] = ()
    phone: str | None = None


def normalize_email(email: str) -> str:
    """E-mail addresses compare case-insensitively and without surrounding blanks."""
    return email.strip().lower()


def check_password_rules(password: str) -> None:
    """Refuse passwords a guesser would find; long passphrases are welcome."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password must have at most {MAX_PASSWORD} characters")


def add_user(session: Session, new: NewUser, password: str) -> User:
    """Create a user; supervisors and admins get a TOTP secret for their second factor."""
    email = normalize_email(new.email)
    if "@" not in email or len(email) > 320:
        raise UserError(f"'{new.email}' is not an e-mail address")
    if new.role not in ROLES:
        raise UserError(f"unknown role '{new.role}' (one of {', '.join(ROLES)})")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(f"a user with the e-mail {email} exists already")
    check_password_rules(password)
    user = User(
        email=email,
        name=new.name.strip() or email,
        role=new.role,
        languages=list(new.languages),
        skills=list(new.skills),
        phone=new.phone,
        password_hash=generate_password_hash(password),
        totp_secret=pyotp.random_base32() if new.role != "agent" else None,
    )
    session.add(user)
    session.flush()
    agent_profile(session, user)  # the dialer's profile of this user, one source of truth
    return user


def find_user(session: Session, email: str) -> User | None:
    """The user with this e-mail address."""
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def set_password(user: User, password: str) -> None:
    """Set a new password; every open session of the user ends."""
    check_password_rules(password)
    user.password_hash = generate_password_hash(password)
    user.session_epoch += 1


def disable_user(user: User) -> None:
    """Disable a user: no sign-in, open sessions end, and no calls are offered."""
    user.disabled = True
    user.session_epoch += 1
    user.activity, user.activity_reason, user.activity_since = "offline", None, utcnow()
    session = object_session(user)
    if session is not None:
        agent_profile(session, user)  # the dialer no longer rings them either


def provisioning_uri(user: User) -> str:
    """The otpauth:// URI an authenticator app scans (shown once, like a password)."""
    if user.totp_secret is None:
        raise UserError("this user has no second factor")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def sign_in_blocked(session: Session, email: str, address: str, now: datetime | None = None) -> bool:
    """Whether too many sign-ins failed lately for this e-mail or from this address."""
    since = (now or utcnow()) - THROTTLE_WINDOW
    recent = select(func.count()).select_from(SignInAttempt).where(SignInAttempt.at >= since)
    by_email = session.scalar(recent.where(SignInAttempt.email_hash == _digest(normalize_email(email))))
    by_address = session.scalar(recent.where(SignInAttempt.address_hash == _digest(address)))
    return (by_email or 0) >= EMAIL_LIMIT or (by_address or 0) >= ADDRESS_LIMIT


def check_credentials(session: Session, email: str, password: str, address: str) -> User | None:
    """The user if e-mail and password match an enabled user; a failure is counted."""
    user = find_user(session, email)
    if user is None or len(password) > MAX_PASSWORD:
        check_password_hash(_DUMMY_HASH, password[:MAX_PASSWORD])
        ok = False
    else:
        ok = check_password_hash(user.password_hash, password) and not user.disabled
    if not ok:
        session.add(
            SignInAttempt(
                email_hash=_digest(normalize_email(email)), address_hash=_digest(address), at=utcnow()
            )
        )
        return None
    return user


def record_sign_in(session: Session, user: User, email: str) -> None:
    """A successful sign-in: forget the e-mail's failures and note the time."""
    session.execute(delete(SignInAttempt).where(SignInAttempt.email_hash == _digest(normalize_email(email))))
    user.last_sign_in_at = utcnow()


def check_totp(user: User, code: str, now: datetime | None = None) -> bool:
    """Whether ``code`` is the user's current TOTP code, used for the first time."""
    if user.totp_secret is None:
        return False
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    moment = now or utcnow()
    for drift in (-1, 0, 1):  # one step of clock drift either way, as RFC 6238 suggests
        at = moment + timedelta(seconds=drift * totp.interval)
        step = totp.timecode(at)
        if secrets.compare_digest(totp.at(at), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False  # replayed
            user.totp_last_step = step
            return True
    return False
