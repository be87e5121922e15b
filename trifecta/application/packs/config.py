"""Pack settings and the meta-file patterns (cheap to import: the search path needs them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trifecta.domain.packs import DEFAULT_DEMOTE
from trifecta.domain.records import record

# The original's meta files, ingested first (in this order) and marked ``meta``.
META_PATTERNS: tuple[str, ...] = (
    "skill.md",
    "_ctx/prime_*.md",
    "_ctx/agent_*.md",
    "_ctx/session_*.md",
    "AGENTS.md",
    "README.md",
)
# ``_ctx/`` is never listed by the default globs; these make the listing look there.
META_INCLUDES: tuple[str, ...] = tuple(p for p in META_PATTERNS if p.startswith("_ctx/"))


@record
class PackSettings:
    """The knobs of ingestion (``files.*`` and ``build.*`` settings)."""

    include: tuple[str, ...] = ("**/*.py", "**/*.md")
    exclude: tuple[str, ...] = ()
    lock_timeout_ms: int = 30000
    demote: tuple[str, ...] = DEFAULT_DEMOTE

    @property
    def listing_include(self) -> tuple[str, ...]:
        return (*self.include, *(p for p in META_INCLUDES if p not in self.include))

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> PackSettings:
        """From the merged settings (``files.include``, ``files.exclude``,
        ``build.lock_timeout_ms``, ``search.demote``)."""

        return cls(
            tuple(settings["files"]["include"]),
            tuple(settings["files"]["exclude"]),
            int(settings["build"]["lock_timeout_ms"]),
            tuple(settings["search"]["demote"]),
        )
