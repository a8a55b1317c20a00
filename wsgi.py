"""WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from ivr import create_app
from ivr.setup import warm_up

app = create_app()
warm_up(app)
