"""The ``uep`` command line. Each command group lives in its own module and is composed here."""

from bot.cli import aid as _aid  # noqa: F401
from bot.cli import assessments as _assessments  # noqa: F401
from bot.cli import broadcast as _broadcast  # noqa: F401
from bot.cli import db as _db  # noqa: F401  (registers commands)
from bot.cli import importing as _importing  # noqa: F401
from bot.cli import jobs as _jobs  # noqa: F401
from bot.cli import keys as _keys  # noqa: F401
from bot.cli import monitoring as _monitoring  # noqa: F401
from bot.cli import privacy as _privacy  # noqa: F401  (uep privacy …, uep audit)
from bot.cli import reports as _reports  # noqa: F401
from bot.cli import run as _run  # noqa: F401
from bot.cli import sandbox as _sandbox  # noqa: F401
from bot.cli import staff as _staff  # noqa: F401
from bot.cli import web as _web  # noqa: F401
from bot.cli import workers as _workers  # noqa: F401
from bot.cli.app import app

__all__ = ["app"]
