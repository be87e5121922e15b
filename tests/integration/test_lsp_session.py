"""The framing, JSON-RPC and session layers against a scripted peer over real OS pipes:
READY via diagnostics, deadlines with ``$/cancelRequest``, server->client requests,
malformed frames, a peer that dies."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from trifecta.adapters.pyright.framing import FramingError, encode_message, read_message
from trifecta.adapters.pyright.server import pyright_scan_signal
from trifecta.adapters.pyright.session import LspSession
from trifecta.adapters.system.clock import SystemClock
from trifecta.domain.errors import (
    LanguageServerCrashed,
    LanguageServerError,
    LanguageServerTimeout,
)

Script = Callable[["Peer", dict[str, Any]], None]


class Peer:
    """A scripted language server: ``script(peer, message)`` runs for each client message."""

    def __init__(self, script: Script) -> None:
        c2s_r, c2s_w = os.pipe()
        s2c_r, s2c_w = os.pipe()
        self.client_in: IO[bytes] = os.fdopen(s2c_r, "rb")
        self.client_out: IO[bytes] = os.fdopen(c2s_w, "wb")
        self._in = os.fdopen(c2s_r, "rb")
        self._out = os.fdopen(s2c_w, "wb")
        self.received: list[dict[str, Any]] = []
        self.script = script
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def send(self, message: dict[str, Any]) -> None:
        self._out.write(encode_message({"jsonrpc": "2.0", **message}))
        self._out.flush()

    def close(self) -> None:
        self._out.close()

    def _loop(self) -> None:
        try:
            while (message := read_message(self._in)) is not None:
                self.received.append(message)
                self.script(self, message)
        except (OSError, ValueError):
            return


def answers_initialize(peer: Peer, message: dict[str, Any]) -> None:
    if message.get("method") == "initialize":
        peer.send({"id": message["id"], "result": {"capabilities": {"definitionProvider": True}}})


def new_session(peer: Peer, tmp_path: Path) -> LspSession:
    clock = SystemClock()
    return LspSession(
        peer.client_in,
        peer.client_out,
        tmp_path,
        clock,
        clock.monotonic_ns(),
        pyright_scan_signal,
        process_id=os.getpid(),
    )


@pytest.fixture
def closing() -> Iterator[list[Peer]]:
    peers: list[Peer] = []
    yield peers
    for peer in peers:
        peer.close()


def test_lsp_ready_event_fires_on_diagnostics(tmp_path: Path, closing: list[Peer]) -> None:
    def script(peer: Peer, message: dict[str, Any]) -> None:
        answers_initialize(peer, message)
        if message.get("method") == "initialized":
            peer.send(
                {
                    "method": "textDocument/publishDiagnostics",
                    "params": {
                        "uri": "file:///x.py",
                        "diagnostics": [{"message": "secret = 'sk_live_123' is unused"}],
                    },
                }
            )

    peer = Peer(script)
    closing.append(peer)
    session = new_session(peer, tmp_path)
    session.initialize(5_000)
    assert session.wait_answerable(30_000)
    events = session.drain_events()
    names = [name for name, _ in events]
    assert names == ["lsp.initialize", "lsp.diagnostics", "lsp.ready"]
    fields = dict(events)
    assert fields["lsp.ready"]["ready_via"] == "diagnostics"
    assert fields["lsp.diagnostics"]["first_diag_count"] == 1
    assert fields["lsp.diagnostics"]["redacted_snippet_hash"].startswith("sha256:")
    assert "sk_live" not in repr(events)  # the snippet itself is never reported
    session.definition_succeeded()
    assert session.drain_events() == []  # READY is reported once
    assert session.facts().ready_via == "diagnostics"


def test_diagnostics_before_the_initialize_answer_count_once_initialized(
    tmp_path: Path, closing: list[Peer]
) -> None:
    def script(peer: Peer, message: dict[str, Any]) -> None:
        if message.get("method") == "initialize":
            peer.send({"method": "textDocument/publishDiagnostics", "params": {"diagnostics": []}})
        answers_initialize(peer, message)

    peer = Peer(script)
    closing.append(peer)
    session = new_session(peer, tmp_path)
    session.initialize(5_000)
    names = [name for name, _ in session.drain_events()]
    assert names == ["lsp.diagnostics", "lsp.initialize", "lsp.ready"]
    assert session.facts().ready_via == "diagnostics"


def test_scan_signal_makes_answerable_but_not_ready(tmp_path: Path, closing: list[Peer]) -> None:
    def script(peer: Peer, message: dict[str, Any]) -> None:
        answers_initialize(peer, message)
        if message.get("method") == "initialized":
            peer.send(
                {
                    "method": "window/logMessage",
                    "params": {"type": 3, "message": "Found 7 source files"},
                }
            )

    peer = Peer(script)
    closing.append(peer)
    session = new_session(peer, tmp_path)
    session.initialize(5_000)
    assert session.wait_answerable(30_000)
    facts = session.facts()
    assert facts.scan_done and facts.ready_via is None
    session.definition_succeeded()
    assert session.facts().ready_via == "definition"


def test_deadline_sends_cancel_request(tmp_path: Path, closing: list[Peer]) -> None:
    peer = Peer(answers_initialize)  # never answers definitions
    closing.append(peer)
    session = new_session(peer, tmp_path)
    session.initialize(5_000)
    with pytest.raises(LanguageServerTimeout, match="50 ms"):
        session.request("textDocument/definition", {}, 50)
    deadline = threading.Event()
    for _ in range(100):
        if any(m.get("method") == "$/cancelRequest" for m in peer.received):
            break
        deadline.wait(0.02)
    requests = [m for m in peer.received if m.get("method") == "textDocument/definition"]
    cancels = [m for m in peer.received if m.get("method") == "$/cancelRequest"]
    assert cancels and cancels[0]["params"]["id"] == requests[0]["id"]


def test_server_requests_are_answered(tmp_path: Path, closing: list[Peer]) -> None:
    answers: dict[Any, dict[str, Any]] = {}

    def script(peer: Peer, message: dict[str, Any]) -> None:
        answers_initialize(peer, message)
        if message.get("method") == "initialized":
            peer.send({"id": "c1", "method": "workspace/configuration", "params": {"items": [{}]}})
            peer.send({"id": "p1", "method": "window/workDoneProgress/create", "params": {}})
            peer.send({"id": "r1", "method": "client/registerCapability", "params": {}})
            peer.send({"id": "x1", "method": "custom/unknown", "params": {}})
        if "method" not in message and "id" in message:
            answers[message["id"]] = message

    peer = Peer(script)
    closing.append(peer)
    session = new_session(peer, tmp_path)
    session.initialize(5_000)
    for _ in range(200):
        if len(answers) == 4:
            break
        threading.Event().wait(0.01)
    assert answers["c1"]["result"] == [None]
    assert answers["p1"]["result"] is None and answers["r1"]["result"] is None
    assert answers["x1"]["error"]["code"] == -32601


def test_error_response_is_a_language_server_error(tmp_path: Path, closing: list[Peer]) -> None:
    def script(peer: Peer, message: dict[str, Any]) -> None:
        answers_initialize(peer, message)
        if message.get("method") == "textDocument/definition":
            peer.send({"id": message["id"], "error": {"code": -32603, "message": "boom"}})

    peer = Peer(script)
    closing.append(peer)
    session = new_session(peer, tmp_path)
    session.initialize(5_000)
    with pytest.raises(LanguageServerError, match="boom"):
        session.request("textDocument/definition", {}, 5_000)


def test_peer_closing_fails_pending_requests(tmp_path: Path, closing: list[Peer]) -> None:
    def script(peer: Peer, message: dict[str, Any]) -> None:
        answers_initialize(peer, message)
        if message.get("method") == "textDocument/definition":
            peer.close()

    peer = Peer(script)
    session = new_session(peer, tmp_path)
    session.initialize(5_000)
    with pytest.raises(LanguageServerCrashed):
        session.request("textDocument/definition", {}, 5_000)
    assert session.closed
    with pytest.raises(LanguageServerCrashed):
        session.request("textDocument/definition", {}, 5_000)


@pytest.mark.parametrize(
    "raw",
    [
        b'Content-Length: 5\r\n\r\n{"a"',
        b"Content-Type: x\r\n\r\n{}",
        b"Content-Length: 2\r\n\r\n[]",
        b"garbage\r\n\r\n",
        b"Content-Length: 3\r\n",
    ],
)
def test_malformed_frames_raise_framing_error(raw: bytes) -> None:
    with pytest.raises(FramingError):
        read_message(io.BytesIO(raw))


def test_frames_round_trip_with_unicode() -> None:
    message = {"jsonrpc": "2.0", "id": 1, "result": {"name": "héllo ✓"}}
    stream = io.BytesIO(encode_message(message) + encode_message(message))
    assert read_message(stream) == message
    assert read_message(stream) == message
    assert read_message(stream) is None
