"""``dependency_injector`` without ``asyncio`` or its optional probes at import time, and
deferred constructors.

The library's compiled modules run ``from asyncio import Future, ensure_future, gather``
at import; importing ``asyncio`` (sockets, ssl, subprocess, logging, concurrent.futures)
costs ~25 ms, a quarter of a CLI call, and trifecta uses no async provider. When
``asyncio`` is not imported yet, the three names are bound to stand-ins that import the
real ``asyncio`` when called (so an async provider still works), through a placeholder
module that is in ``sys.modules`` only while the library imports (ADR 0011). The library
tests for futures by duck typing (``_asyncio_future_blocking``), never ``isinstance``.
``configparser`` gets the same treatment: the library calls ``ConfigParser()`` only in
``Configuration.from_ini`` (never an ``isinstance``).

The library also probes optional packages at import, each inside ``try/except
ImportError``: ``providers`` imports ``pydantic_settings`` or ``pydantic`` (for
``Configuration.from_pydantic``) and ``yaml``, ``wiring`` imports ``fastapi``, ``fast_depends``,
``starlette`` and ``werkzeug`` (to recognise their markers when wiring modules). The
``mcp`` extra installs pydantic and starlette, which then cost ~40 ms of every CLI call.
trifecta never calls ``from_pydantic`` and never wires modules, so while the library
imports, a finder first on ``sys.meta_path`` reports each probe that is not imported yet
as not installed (the import raises ``ImportError``, the library takes that branch); the
finder is removed afterwards, so a later ``import pydantic`` (the MCP server) is real.

``deferred("module:Name")`` is a constructor imported on its first call: a capability
container declares every provider, but a command imports only the classes it builds.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


def _real_asyncio() -> Any:
    return importlib.import_module("asyncio")


def _future(*args: Any, **kwargs: Any) -> Any:
    return _real_asyncio().Future(*args, **kwargs)


def _ensure_future(*args: Any, **kwargs: Any) -> Any:
    return _real_asyncio().ensure_future(*args, **kwargs)


def _gather(*args: Any, **kwargs: Any) -> Any:
    return _real_asyncio().gather(*args, **kwargs)


# Optional packages the library probes at import, never used by trifecta (see above).
UNUSED_PROBES = (
    "pydantic_settings",
    "pydantic",
    "fastapi",
    "fast_depends",
    "starlette",
    "werkzeug",
    "yaml",
)


class _Unavailable:
    """A finder, first on ``sys.meta_path`` while the library imports, that says the given
    top-level packages (and their submodules) are not installed. (A ``None`` entry in
    ``sys.modules`` would not do: the compiled modules' ``import x`` returns it as is.
    Not an ``importlib.abc.MetaPathFinder``: importing ``importlib.abc`` costs ~3 ms.)"""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def _import_library() -> None:
    if "dependency_injector.containers" in sys.modules:
        return
    finder = _Unavailable(frozenset(n for n in UNUSED_PROBES if n not in sys.modules))
    sys.meta_path.insert(0, finder)
    try:
        _import_with_stand_ins()
    finally:
        sys.meta_path.remove(finder)


def _config_parser(*args: Any, **kwargs: Any) -> Any:
    return importlib.import_module("configparser").ConfigParser(*args, **kwargs)


def _stand_ins() -> dict[str, types.ModuleType]:
    """Placeholder modules for what the library imports but calls only on request: the
    three ``asyncio`` names (async providers) and ``configparser.ConfigParser`` (``from_ini``,
    ~2 ms of import and eight regular expressions); each imports the real module when
    called. None for a module already imported."""

    made: dict[str, types.ModuleType] = {}
    if "asyncio" not in sys.modules:
        stand_in = types.ModuleType("asyncio", "stand-in while dependency_injector imports")
        stand_in.Future = _future  # type: ignore[attr-defined]
        stand_in.ensure_future = _ensure_future  # type: ignore[attr-defined]
        stand_in.gather = _gather  # type: ignore[attr-defined]
        made["asyncio"] = stand_in
    if "configparser" not in sys.modules:
        stand_in = types.ModuleType("configparser", "stand-in while dependency_injector imports")
        stand_in.ConfigParser = _config_parser  # type: ignore[attr-defined]
        made["configparser"] = stand_in
    return made


def _import_with_stand_ins() -> None:
    stand_ins = _stand_ins()
    sys.modules.update(stand_ins)
    try:
        import dependency_injector.containers
        import dependency_injector.providers
    except ImportError:  # a release that needs more of them at import: load them for real
        for name in [m for m in sys.modules if m.split(".")[0] == "dependency_injector"]:
            del sys.modules[name]
        _remove(stand_ins)
        import dependency_injector.containers
        import dependency_injector.providers  # noqa: F401
    finally:
        _remove(stand_ins)


def _remove(stand_ins: dict[str, types.ModuleType]) -> None:
    for name, stand_in in stand_ins.items():
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]


_import_library()

from dependency_injector import containers, providers  # noqa: E402

__all__ = ["containers", "deferred", "providers"]


def deferred(target: str) -> Callable[..., Any]:
    """``"package.module:Name"`` -> a callable that imports ``Name`` on first call and
    calls it with the same arguments."""

    module_name, _, name = target.partition(":")
    found: list[Callable[..., Any]] = []

    def build(*args: Any, **kwargs: Any) -> Any:
        if not found:
            found.append(getattr(importlib.import_module(module_name), name))
        return found[0](*args, **kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"{target}, imported on first use"
    return build
