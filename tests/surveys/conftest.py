"""The console's fixtures (agents who signed in, Twilio's faked REST edge) for survey calls."""

from tests.desk.conftest import available_agent, create_user, fake  # noqa: F401
