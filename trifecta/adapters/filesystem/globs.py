"""Glob and ``.gitignore`` pattern matching on segment-relative POSIX paths."""

from __future__ import annotations

import re
from functools import lru_cache

from trifecta.domain.records import record


class BadGlob(ValueError):
    """A glob that cannot be compiled (e.g. the reversed range ``[z-a]``); the message
    names the pattern."""


def _check_ranges(pattern: str, body: str) -> None:
    i = 1 if body.startswith(("!", "^")) else 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-" and body[i] > body[i + 2]:
            raise BadGlob(f"{pattern!r}: character range {body[i]}-{body[i + 2]} is reversed")
        i += 3 if i + 2 < len(body) and body[i + 1] == "-" else 1


@lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a glob (``**`` spans directories, ``*``/``?`` do not) to a regex, once per
    pattern (cached). Raises ``BadGlob`` naming the pattern if it cannot be compiled."""

    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                _check_ranges(pattern, pattern[i + 1 : end])
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    try:
        return re.compile("".join(out) + r"\Z")
    except re.error as e:
        raise BadGlob(f"{pattern!r}: {e.msg}") from None


def glob_match(pattern: str, path: str) -> bool:
    return glob_regex(pattern).match(path) is not None


@record
class IgnoreRule:
    base: str  # directory of the .gitignore, "" for the segment root
    pattern: str
    negated: bool
    dir_only: bool
    anchored: bool

    def matches(self, path: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if self.base:
            if not path.startswith(self.base + "/"):
                return False
            path = path[len(self.base) + 1 :]
        if self.anchored:
            return glob_match(self.pattern, path)
        return glob_match(self.pattern, path.rsplit("/", 1)[-1]) or glob_match(
            "**/" + self.pattern, path
        )


def parse_gitignore(
    text: str, base: str, bad_lines: list[tuple[int, str]] | None = None
) -> list[IgnoreRule]:
    """The rules of one ``.gitignore``. A line whose pattern cannot be compiled (``[z-a]``:
    git never matches it) is left out, and reported in ``bad_lines`` as (line, why)."""

    rules: list[IgnoreRule] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        if line.startswith("\\"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        try:
            glob_regex(line)
            glob_regex("**/" + line)
        except BadGlob as e:
            if bad_lines is not None:
                bad_lines.append((number, str(e)))
            continue
        rules.append(IgnoreRule(base, line, negated, dir_only, anchored))
    return rules


def is_ignored(rules: list[IgnoreRule], path: str, is_dir: bool) -> bool:
    """Last matching rule wins, as in git."""

    ignored = False
    for rule in rules:
        if rule.negated == ignored and rule.matches(path, is_dir):
            ignored = not rule.negated
    return ignored
