"""Layer 1: LSP base-protocol byte framing (``Content-Length`` headers + a UTF-8 JSON body).

Pure functions over binary streams; no threads, no processes. See docs/adr/0007.
"""

from __future__ import annotations

import json
from typing import IO, Any

MAX_HEADER_LINES = 16
MAX_BODY_BYTES = 64 * 1024 * 1024


class FramingError(Exception):
    """The peer sent bytes that are not a well-formed LSP message."""


def encode_message(message: dict[str, Any]) -> bytes:
    """One framed message: headers, blank line, compact JSON body."""

    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """Read one message; None on a clean end of stream (before any header byte).

    Raises ``FramingError`` on a torn or malformed message.
    """

    length: int | None = None
    for count in range(MAX_HEADER_LINES + 1):
        line = stream.readline(4096)
        if not line:
            if count == 0:
                return None
            raise FramingError("stream ended inside the headers")
        line = line.strip()
        if not line:
            break
        name, colon, value = line.partition(b":")
        if not colon:
            raise FramingError(f"malformed header line {line[:80]!r}")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError as e:
                raise FramingError(f"bad Content-Length {value[:40]!r}") from e
    else:
        raise FramingError("too many header lines")
    if length is None or not 0 <= length <= MAX_BODY_BYTES:
        raise FramingError(f"missing or out-of-range Content-Length ({length})")
    body = b""
    while len(body) < length:
        chunk = stream.read(length - len(body))
        if not chunk:
            raise FramingError("stream ended inside a message body")
        body += chunk
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FramingError(f"body is not JSON: {e}") from e
    if not isinstance(message, dict):
        raise FramingError("body is not a JSON object")
    return message
