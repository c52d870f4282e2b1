"""The app uvicorn imports in each worker: settings read from the environment."""

from oneapi.app import build_app
from oneapi.cli import _settings_or_exit

app = build_app(_settings_or_exit())
