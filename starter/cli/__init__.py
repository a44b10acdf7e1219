"""`tenure`: support and operations from the command line (`tenure = "starter.cli:app"`).

`app` (the root, app.py), the command groups (members.py, reconcile.py, segment.py, program.py),
what they stand on (context.py: settings, database, `TenureClient`, errors and exit statuses) and
how they show things (render.py).
"""

from .app import app

__all__ = ["app"]
