"""`python -m starter.cli` runs `tenure`."""

from .app import app

app()
