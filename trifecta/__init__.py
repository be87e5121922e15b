"""trifecta: a context layer for AI coding agents.

Embedding API (cheap to import; heavy parts load on first use)::

    import trifecta
    with trifecta.open_segment("path/to/repo") as seg:
        ...

``trifecta.Telemetry`` is the seed's telemetry API for embedding tools.
"""

from __future__ import annotations

from trifecta._version import __version__

__all__ = ["Segment", "Telemetry", "__version__", "open_segment"]

TYPE_CHECKING = False  # avoid importing typing at startup: the CLI must start fast
if TYPE_CHECKING:
    from trifecta.api import Segment, open_segment
    from trifecta.telemetry_api import Telemetry


def __getattr__(name: str) -> object:
    if name in ("Segment", "open_segment"):
        from trifecta import api

        return getattr(api, name)
    if name == "Telemetry":
        from trifecta.telemetry_api import Telemetry

        return Telemetry
    raise AttributeError(f"module 'trifecta' has no attribute {name!r}")
