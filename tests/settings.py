"""The project's settings as `make run` uses them locally (DEBUG on unless the environment says otherwise): the
tests talk plain HTTP to their servers and render pages without collected static files."""

import os

os.environ.setdefault("DEBUG", "1")

from skybeat.settings import *  # noqa: E402,F403
