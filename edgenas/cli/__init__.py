"""The ``edgenas`` command line. Commands parse, call one library function, render.

Results go to stdout (a Rich table, or JSON with ``--json``); progress, warnings and errors go to
stderr. Errors print ``error:``/``hint:`` and exit 1 (user/data), 2 (usage), 3 (device/toolchain).
Each ``commands_<topic>.py`` module registers its commands on the shared ``app``; importing it
here is all it takes to add one.
"""

from . import commands_core  # noqa: F401  (registers commands)
from . import commands_data  # noqa: F401  (registers commands)
from . import commands_extract  # noqa: F401  (registers commands)
from . import commands_predictor  # noqa: F401  (registers commands)
from . import commands_boards, commands_deploy  # noqa: F401  (registers commands)
from . import commands_profile  # noqa: F401  (registers commands)
from . import commands_report  # noqa: F401  (registers commands)
from . import commands_search  # noqa: F401  (registers commands)
from .common import app

__all__ = ["app"]
