"""The client side of the search server (``cli/server.py``): a ``ctx search`` or
``ctx get`` whose segment has a running server is sent there and its answer printed;
anything else, and any failure to be served (no server, a dead or busy one, a decline),
runs the command in this process as before. Runs before the parser is built: it costs a
few ``stat`` calls when no server runs.

After a search answered here, ``maybe_launch`` starts a server in the background when the
setting ``search.server`` is ``auto`` and the segment holds at least
``search.server_min_files`` files, so the next call is served.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not ``typing``'s: this module runs before anything imports it
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

    from trifecta.api import Segment

PROTOCOL = 1
# The search server's files in ``_ctx/`` (the server and this client name them here).
SOCKET_NAME = "ctx.sock"
LOCK_NAME = "ctx.lock"
PID_NAME = "ctx.pid"
LOG_NAME = "ctx.log"
FORWARDED = ("search", "get")
# Flags that make the command this process's own: another settings file, a sync (a build
# in the server), help and tracebacks (cheap, or about this process).
LOCAL_FLAGS = ("--config", "--sync", "--help", "-h", "--debug")
CONNECT_S = 0.25  # a live server accepts at once; a dead socket file refuses at once
ANSWER_S = 10.0  # the server is busy with another call at worst; then we answer ourselves
# Left by a client the server did not answer in time: later calls answer themselves at
# once (one ``stat``) until the server, back in its loop, removes it.
HUNG_NAME = "ctx.hung"
MARKERS = ("context_pack.json", "trifecta.toml")  # as ``find_segment`` looks for them
FAILED_NAME = "ctx.failed"  # why the last server could not start; no relaunch for a while
FAILED_FRESH_S = 60
# The environment an answer or its telemetry depends on: settings, the OpenTelemetry
# export, colour, and the user names redaction removes.
_ENV_PREFIXES = ("TRIFECTA_", "OTEL_")
_ENV_NAMES = ("NO_COLOR", "HOME", "USER", "LOGNAME")


# The server's own settings: they change no answer, so they need not be equal (but valid).
OWN_SETTINGS = "TRIFECTA_SEARCH_SERVER"


def relevant_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` a served answer must share with the client's (the server's
    own settings included: the server checks them apart)."""

    return {k: v for k, v in environ.items() if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES}


# Global options that may come before ``ctx search``: flags, and those taking a value.
_GLOBAL_FLAGS = ("--json", "--quiet", "--verbose", "-v")
_GLOBAL_VALUED = ("--segment", "-s", "--color", "--telemetry")
_GLOBAL_JOINED = ("--segment=", "--color=", "--telemetry=")


def _command_at(args: list[str]) -> int | None:
    """Where ``ctx search`` / ``ctx get`` starts in ``args``, if only global options come
    before it (anything else: the parser decides, in this process)."""

    i = 0
    while i < len(args) - 1:
        arg = args[i]
        if arg == "ctx":
            return i if args[i + 1] in FORWARDED else None
        if arg in _GLOBAL_FLAGS or arg.startswith(_GLOBAL_JOINED):
            i += 1
        elif arg in _GLOBAL_VALUED:
            i += 2
        else:
            return None
    return None


def _segment_arg(args: list[str]) -> str | bool | None:
    """The ``--segment``/``-s`` value, None when not given, False when it cannot be read
    here (an unusual spelling: the command then runs in this process)."""

    found: str | bool | None = None
    for i, arg in enumerate(args):
        if arg in ("--segment", "-s"):
            if i + 1 >= len(args):
                return False
            found = args[i + 1]
        elif arg.startswith("--segment="):
            found = arg.split("=", 1)[1]
        elif arg.startswith("-s") and not arg.startswith("--"):
            return False  # -sDIR and grouped short flags: leave them to argparse
    return found


def segment_root(args: list[str], cwd: str) -> str | None:
    """The segment the command would work on, if it has a built or configured ``_ctx/``
    (``os.path``, not ``pathlib``: this runs before the command's imports)."""

    given = _segment_arg(args)
    if given is False:
        return None
    if isinstance(given, str):
        root = os.path.join(cwd, given)
        return root if _is_segment(root) else None
    directory = cwd
    while True:
        if _is_segment(directory):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _is_segment(directory: str) -> bool:
    return any(os.path.isfile(os.path.join(directory, "_ctx", m)) for m in MARKERS)


# True in a search server's own process: the commands it runs are never sent on.
IN_SERVER = [False]


def forward(args: list[str]) -> int | None:
    """The exit code of ``args`` answered by the segment's search server, its output
    printed; None when it was not served (run the command here)."""

    if IN_SERVER[0] or _command_at(args) is None:
        return None
    if os.environ.get("TRIFECTA_SEARCH_SERVER", "").strip().lower() == "off":
        return None
    if any(a in LOCAL_FLAGS or a.startswith("--config=") for a in args):
        return None
    try:
        cwd = os.getcwd()
    except OSError:
        return None
    root = segment_root(args, cwd)
    if root is None:
        return None
    state = os.path.join(root, "_ctx")
    path = os.path.join(state, SOCKET_NAME)
    try:
        if os.stat(path).st_uid != os.geteuid():  # only our own server is trusted
            return None
    except OSError:
        return None
    if os.path.exists(os.path.join(state, HUNG_NAME)):
        return None
    try:
        answer = _ask(path, _request(args, cwd), hung=os.path.join(state, HUNG_NAME))
    except KeyboardInterrupt:
        return _interrupted(args)
    if answer is None or answer.get("served") is not True:
        return None
    writes = answer.get("writes")
    code = answer.get("exit")
    if not isinstance(code, int) or not isinstance(writes, list):
        return None
    streams = (sys.stdout, sys.stderr)
    try:
        chunks = [(streams[int(fd) - 1], str(text)) for fd, text in writes]
        for stream, text in chunks:  # what this process could not print, it answers itself
            text.encode(stream.encoding or "utf-8", stream.errors or "strict")
    except (TypeError, ValueError, IndexError, LookupError):
        return None
    try:
        for stream, text in chunks:  # in the order the command wrote them (2>&1 keeps it)
            stream.write(text)
            stream.flush()
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return _interrupted(args)
    return code


def _interrupted(args: list[str]) -> int:
    """As the command itself ends on Ctrl-C (``main``)."""

    if "--json" in args:
        from trifecta.adapters.cli.output import error_document

        sys.stdout.write(error_document("KeyboardInterrupt", "interrupted", None, 130) + "\n")
    sys.stderr.write("trifecta: error: interrupted\n")
    return 130


def _request(args: list[str], cwd: str) -> dict[str, Any]:
    from trifecta import _version

    return {
        "v": PROTOCOL,
        "op": "run",
        "argv": args,
        "cwd": cwd,
        "env": relevant_env(os.environ),
        "tty": [_isatty(sys.stdout), _isatty(sys.stderr)],
        "codecs": [_codec(sys.stdout), _codec(sys.stderr)],
        "version": _version.__version__,
        "package": os.path.dirname(_version.__file__),
    }


def _codec(stream: Any) -> list[str]:
    return [
        str(getattr(stream, "encoding", None) or "utf-8"),
        str(getattr(stream, "errors", None) or "strict"),
    ]


def _isatty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def _ask(
    path: str, request: dict[str, Any], answer_s: float = ANSWER_S, hung: str | None = None
) -> dict[str, Any] | None:
    """One request, one answer line; None on any failure (refused, timed out, closed). A
    time-out leaves the file ``hung`` (when given): the server is stopped or wedged."""

    import json
    import socket

    from trifecta.adapters.unix_socket import connectable

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(CONNECT_S)
            with connectable(path) as address:
                conn.connect(address)
            conn.settimeout(answer_s)
            conn.sendall(json.dumps(request, ensure_ascii=False).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        answer = json.loads(data)
    except TimeoutError:
        if hung is not None:
            try:
                with open(hung, "a"):
                    pass
            except OSError:
                pass
        return None
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def server_status(root: Path) -> dict[str, Any] | None:
    """The running server's status, None when none answers."""

    answer = _ask(str(root / "_ctx" / SOCKET_NAME), {"op": "status"}, answer_s=5.0)
    if answer is None or not isinstance(answer.get("status"), dict):
        return None
    status: dict[str, Any] = answer["status"]
    return status


def stop_server(root: Path) -> bool:
    """Stop the running server: asked over its socket, or, when it does not answer (stopped,
    wedged), the process holding ``_ctx/ctx.lock`` gets SIGTERM (and SIGCONT), then SIGKILL
    after 2 s. A socket file nobody holds the lock for is removed. True when one stopped."""

    state = root / "_ctx"
    answer = _ask(str(state / SOCKET_NAME), {"op": "stop"}, answer_s=5.0)
    if answer is not None and answer.get("stopping") is True:
        return True
    pid = _lock_holder(state / LOCK_NAME)
    if pid is None:
        if not _lock_held(root):  # a dead server's leftovers
            _remove_leftovers(state)
        return False
    import contextlib
    import signal
    import time

    for signum in (signal.SIGTERM, signal.SIGCONT):
        try:
            os.kill(pid, signum)
        except OSError:
            return False
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        if _lock_holder(state / LOCK_NAME) != pid:
            return True
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    _remove_leftovers(state)  # it could not remove them itself
    return True


def _remove_leftovers(state: Path) -> None:
    """The socket, pid and hung files of a server that is gone."""

    import contextlib

    for name in (SOCKET_NAME, PID_NAME, HUNG_NAME):
        with contextlib.suppress(OSError):
            (state / name).unlink()


def _lock_holder(lock: Path) -> int | None:
    """The search server holding a ``flock`` on ``lock`` (``/proc/locks`` names the pid and
    inode; the process must have that very file open and run ``ctx serve``), if any."""

    try:
        st = lock.stat()
        with open("/proc/locks", encoding="ascii", errors="replace") as table:
            lines = table.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK":
            continue
        try:
            pid = int(fields[4])
            inode = int(fields[5].rsplit(":", 1)[1])
        except ValueError:
            continue
        if inode == st.st_ino and pid != os.getpid() and _serves(pid, (st.st_dev, st.st_ino)):
            return pid
    return None


def _serves(pid: int, lock: tuple[int, int]) -> bool:
    """Does process ``pid`` run ``ctx serve`` with the lock file ``lock`` (dev, ino) open?"""

    try:
        with open(f"/proc/{pid}/cmdline", "rb") as proc:
            argv = proc.read().split(b"\0")
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    import itertools

    if (b"ctx", b"serve") not in itertools.pairwise(argv):
        return False
    for fd in fds:
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == lock:
            return True
    return False


def serve_argv(root: Path) -> list[str]:
    """The command that runs the segment's search server in the foreground (``-P``: the
    launching directory never shadows a module)."""

    return [sys.executable, "-P", "-m", "trifecta", "ctx", "serve", "--segment", str(root)]


def maybe_launch(segment: Segment, files: int) -> bool:
    """Start the search server in the background if the settings ask for it, none holds
    the segment's lock (running or starting: a socket file alone may be a dead server's)
    and none failed to start in the last minute; True when one was launched."""

    settings = segment.settings["search"]
    if settings["server"] != "auto" or files < int(settings["server_min_files"]):
        return False
    if sys.platform == "win32":  # no flock, no AF_UNIX server here (ADR 0013)
        return False
    root = segment.root
    state = root / "_ctx"
    if not state.is_dir():
        return False
    import time

    try:
        if time.time() - (state / FAILED_NAME).stat().st_mtime < FAILED_FRESH_S:
            return False
    except OSError:
        pass
    if _lock_held(root):
        return False
    from trifecta.adapters.unix_socket import launch_detached

    try:
        launch_detached(serve_argv(root), state / LOG_NAME, state)
    except OSError:
        return False
    return True


def _lock_held(root: Path) -> bool:
    """Does a server (running or starting) hold ``_ctx/ctx.lock``?"""

    from trifecta.adapters.unix_socket import take_lock

    try:
        lock = take_lock(root / "_ctx" / LOCK_NAME)
    except OSError:
        return True  # cannot tell: do not launch
    if lock is None:
        return True
    lock.close()
    return False
