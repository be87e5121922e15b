"""Who and where: the home directory and user name the redactor must never let through."""

from __future__ import annotations

import getpass
import os


def home_and_user() -> tuple[str | None, str | None]:
    home = os.path.expanduser("~")
    try:
        user: str | None = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER
        user = None
    return (home if home and home != "~" else None), user
