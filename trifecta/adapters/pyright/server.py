"""Layer 4: Pyright specifics: where the binary is, its "workspace scanned" signal, its
settings, and the translation between LSP shapes and the domain's ``SymbolLocation``.

Navigation never sends ``didOpen``: an open file makes pyright run a full check before it
answers (seconds); definitions and symbols need no open documents.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from trifecta.adapters.pyright.process import ServerProcess, find_executable
from trifecta.adapters.pyright.session import LspSession
from trifecta.domain.errors import (
    LanguageServerCrashed,
    LanguageServerError,
    LanguageServerNotReady,
    LanguageServerUnavailable,
)
from trifecta.domain.model import LspFacts, SymbolLocation
from trifecta.domain.ports import Clock, LanguageServer

Listener = Callable[[str, Mapping[str, Any]], None]

BINARY = "pyright-langserver"
SCAN_DONE = re.compile(r"^Found \d+ source files?")
# SymbolKind (LSP 3.17) -> our kinds.
KINDS = {
    2: "module",
    5: "class",
    6: "method",
    9: "method",
    10: "class",
    12: "function",
    13: "variable",
    14: "constant",
    7: "property",
    8: "variable",
}
SETTINGS: dict[str, Any] = {
    "python": {"analysis": {"diagnosticMode": "openFilesOnly", "autoSearchPaths": True}},
    "python.analysis": {"diagnosticMode": "openFilesOnly", "autoSearchPaths": True},
    "pyright": {},
}


def pyright_scan_signal(method: str, params: Any) -> bool:
    """Pyright logs ``Found N source files`` when its workspace scan is done; a
    ``$/progress`` end also counts."""

    if method == "window/logMessage" and isinstance(params, dict):
        return bool(SCAN_DONE.match(str(params.get("message", ""))))
    if method == "$/progress" and isinstance(params, dict):
        value = params.get("value")
        return isinstance(value, dict) and value.get("kind") == "end"
    return False


class PyrightLanguageServer(LanguageServer):
    """``pyright-langserver --stdio`` over one segment (the workspace root)."""

    def __init__(
        self,
        root: Path,
        clock: Clock,
        command: Sequence[str] | None = None,
        initialize_timeout_ms: int = 15_000,
        shutdown_timeout_ms: int = 1_000,
    ) -> None:
        self.root = root.resolve()
        self._clock = clock
        self._command = list(command) if command is not None else None
        self._initialize_timeout_ms = initialize_timeout_ms
        self._shutdown_timeout_ms = shutdown_timeout_ms
        self._process: ServerProcess | None = None
        self._session: LspSession | None = None
        self._listener: Listener | None = None
        self._lock = threading.RLock()
        self.spawn_count = 0

    # ---- lifecycle -----------------------------------------------------------------------

    def argv(self) -> list[str]:
        if self._command is not None:
            return self._command
        binary = find_executable(BINARY)
        if binary is None:
            raise LanguageServerUnavailable(
                f"{BINARY} not found next to {Path(sys.executable).name} or on PATH "
                '(install "pyright[nodejs]")'
            )
        return [binary, "--stdio"]

    def running(self) -> bool:
        return (
            self._process is not None
            and self._process.alive()
            and self._session is not None
            and not self._session.closed
        )

    def crashed(self) -> bool:
        return self._process is not None and not self.running()

    def start(self, listener: Listener | None = None) -> None:
        """Spawn and initialize, unless a live session exists; a dead one is replaced."""

        with self._lock:
            if listener is not None:
                self._listener = listener
            if self.running():
                self._deliver()
                return
            self._stop_process()
            argv = self.argv()
            if not Path(argv[0]).exists() and os.sep in argv[0]:
                raise LanguageServerUnavailable(f"{argv[0]}: no such file")
            spawn_ns = self._clock.monotonic_ns()
            process = ServerProcess(argv, self.root, env=_child_env())
            self._process = process
            self.spawn_count += 1
            self._emit("lsp.spawn", {"pyright_binary": Path(argv[0]).name, "cold_start_flag": True})
            self._session = LspSession(
                process.stdout,
                process.stdin,
                self.root,
                self._clock,
                spawn_ns,
                pyright_scan_signal,
                process_id=os.getpid(),
                configuration=SETTINGS,
            )
            try:
                self._session.initialize(self._initialize_timeout_ms)
            except LanguageServerError as e:
                tail = " | ".join(list(process.stderr_tail)[-3:])
                self._stop_process()
                raise LanguageServerUnavailable(
                    f"pyright did not initialize: {e}" + (f" ({tail})" if tail else "")
                ) from e
            self._deliver()

    def _emit(self, name: str, fields: Mapping[str, Any]) -> None:
        if self._listener is not None:
            self._listener(name, fields)

    def _deliver(self) -> None:
        if self._session is not None:
            for name, fields in self._session.drain_events():
                self._emit(name, fields)

    def facts(self) -> LspFacts:
        session = self._session
        return session.facts() if session is not None else LspFacts()

    def wait_ready(self, timeout_ms: int) -> bool:
        session = self._live_session()
        answerable = session.wait_answerable(timeout_ms)
        self._deliver()
        return answerable

    def shutdown(self) -> None:
        with self._lock:
            session, self._session = self._session, None
            if session is not None:
                session.shutdown(self._shutdown_timeout_ms)
                self._deliver_from(session)
            self._stop_process()
            if session is not None:
                session.join(0.5)

    def _deliver_from(self, session: LspSession) -> None:
        for name, fields in session.drain_events():
            self._emit(name, fields)

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.stop(grace_s=1.0, term_wait_s=1.0, kill_wait_s=1.0)

    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # ---- requests ------------------------------------------------------------------------

    def _live_session(self) -> LspSession:
        session = self._session
        if session is None:
            raise LanguageServerUnavailable("the language server is not started")
        if session.closed or (self._process is not None and not self._process.alive()):
            raise LanguageServerCrashed("the language server process died")
        return session

    def _uri(self, path: str) -> str:
        return (self.root / path).as_uri()

    def _relative(self, uri: str) -> str | None:
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            return None
        target = Path(unquote(parsed.path))
        try:
            real = target.resolve()
        except (OSError, RuntimeError):
            return None
        # A location is a segment file only if the file it names really is inside the
        # segment: a path under the root reached through a symlink that leaves it (``outdir
        # -> /elsewhere``) is outside, exactly like a path outside the root.
        if not real.is_relative_to(self.root):
            return None
        if target.is_relative_to(self.root):
            return target.relative_to(self.root).as_posix()
        return real.relative_to(self.root).as_posix()

    def _request(self, method: str, params: Any, timeout_ms: int) -> Any:
        session = self._live_session()
        try:
            return session.request(method, params, timeout_ms)
        finally:
            self._deliver()

    def definition(
        self, path: str, line: int, column: int, timeout_ms: int
    ) -> list[SymbolLocation]:
        session = self._live_session()
        params = {
            "textDocument": {"uri": self._uri(path)},
            "position": {"line": line - 1, "character": column - 1},
        }
        raw = self._request("textDocument/definition", params, timeout_ms)
        items = raw if isinstance(raw, list) else ([raw] if isinstance(raw, dict) else [])
        if not items and not session.scan_done:
            raise LanguageServerNotReady("pyright answered before its workspace scan finished")
        locations = [loc for item in items if (loc := self._location(item)) is not None]
        if items:
            session.definition_succeeded()
            self._deliver()
        return locations

    def _location(self, item: Any) -> SymbolLocation | None:
        if not isinstance(item, dict):
            return None
        uri = item.get("targetUri", item.get("uri"))
        span = item.get("targetSelectionRange", item.get("range"))
        if not isinstance(uri, str) or not isinstance(span, dict):
            return None
        rel = self._relative(uri)
        if rel is None:
            return None
        whole = item.get("targetRange", span)
        return SymbolLocation(
            path=rel,
            line=int(span["start"]["line"]) + 1,
            column=int(span["start"]["character"]) + 1,
            end_line=int(whole["end"]["line"]) + 1,
        )

    def document_symbols(self, path: str, timeout_ms: int) -> list[SymbolLocation]:
        session = self._live_session()
        params = {"textDocument": {"uri": self._uri(path)}}
        raw = self._request("textDocument/documentSymbol", params, timeout_ms)
        items = raw if isinstance(raw, list) else []
        if not items and not session.scan_done:
            raise LanguageServerNotReady("pyright answered before its workspace scan finished")
        out: list[SymbolLocation] = []
        for item in items:
            if isinstance(item, dict) and "location" in item:
                loc = self._symbol_information(item)
                if loc is not None:
                    out.append(loc)
            else:
                _flatten(item, path, "", out)
        return out

    def _symbol_information(self, item: dict[str, Any]) -> SymbolLocation | None:
        base = self._location(item.get("location"))
        if base is None:
            return None
        container = item.get("containerName")
        name = str(item.get("name", ""))
        qualname = f"{container}.{name}" if container else name
        return SymbolLocation(
            base.path,
            base.line,
            base.column,
            base.end_line,
            KINDS.get(int(item.get("kind", 0)), "unknown"),
            qualname,
        )


def _flatten(item: Any, path: str, prefix: str, out: list[SymbolLocation]) -> None:
    if not isinstance(item, dict):
        return
    name = str(item.get("name", ""))
    qualname = f"{prefix}.{name}" if prefix else name
    span = item.get("selectionRange") or item.get("range")
    whole = item.get("range") or span
    if isinstance(span, dict) and isinstance(whole, dict):
        kind = KINDS.get(int(item.get("kind", 0)), "unknown")
        out.append(
            SymbolLocation(
                path,
                int(span["start"]["line"]) + 1,
                int(span["start"]["character"]) + 1,
                int(whole["end"]["line"]) + 1,
                kind,
                qualname,
            )
        )
    for child in item.get("children") or ():
        _flatten(child, path, qualname, out)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYRIGHT_PYTHON_IGNORE_WARNINGS", "1")
    env.pop("PYRIGHT_PYTHON_FORCE_VERSION", None)  # never download another version at run time
    return env
