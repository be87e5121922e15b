"""Settings: every tunable, its default, and the precedence rule.

Precedence (lowest first): defaults < ``<segment>/_ctx/trifecta.toml`` < environment
``TRIFECTA_*`` < command-line flags. The layers are plain nested dicts; reading them from
disk and the environment is the job of ``trifecta.adapters.config``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from trifecta.domain.errors import ConfigError
from trifecta.domain.packs import DEFAULT_DEMOTE

TELEMETRY_LEVELS = ("off", "lite", "full")
# daemon: the segment's warm background pyright (started on first use); process: pyright
# spawned by (and dying with) this process.
LSP_MODES = ("daemon", "process")
SEARCH_SERVER = ("auto", "off")

DEFAULTS: dict[str, Any] = {
    "segment": ".",
    "telemetry": {
        "level": "lite",
        "rotate_bytes": 5 * 1024 * 1024,
        "lock_timeout_ms": 2000,
        # OTLP/HTTP export beside the JSONL (the trifecta[otel] extra): the collector's base
        # URL ("" = only the standard OTEL_EXPORTER_OTLP_* variables switch it on), and the
        # most a run's export may add to the command at exit.
        "otlp": "",
        "otlp_timeout_ms": 200,
    },
    "files": {
        "max_bytes": 2 * 1024 * 1024,
        "include": ["**/*.py", "**/*.md"],
        "exclude": [],
        # Directory names never listed (besides any directory holding pyvenv.cfg, a virtual
        # environment); .git/.hg/.svn and _ctx are always left out.
        "skip_dirs": [
            ".venv",
            "node_modules",
            "__pycache__",
            ".mypy_cache",
            ".ruff_cache",
            ".pytest_cache",
            ".tox",
        ],
    },
    "lsp": {
        "timeout_ms": 500,
        "ready_timeout_ms": 10000,
        "idle_timeout_s": 600,
        "autostart": True,
        "enabled": True,
        "mode": "daemon",
    },
    "cache": {"max_bytes": 64 * 1024 * 1024, "max_entry_bytes": 1024 * 1024},
    "search": {
        "limit": 5,
        "demote": list(DEFAULT_DEMOTE),
        "watch": False,
        "history": 50,
        # The search server (`ctx serve`): `auto` starts one in the background after a
        # search of a segment of at least `server_min_files` files; `off` never does (and a
        # running one stops serving). It exits after `server_idle_timeout_s` without calls.
        "server": "auto",
        "server_min_files": 1000,
        "server_idle_timeout_s": 600,
    },
    "get": {"budget_token_est": 1500, "max_chunks": 20},
    "build": {"lock_timeout_ms": 30000, "jobs": 0},
    # `trifecta mcp`: the bound of every tool answer, in tokens (characters/4).
    "mcp": {"max_tokens": 20000},
}

# The smallest answer bound an MCP server accepts (an error message must still fit).
MCP_MIN_TOKENS = 1000

# Integer settings that may be 0 (0 has a meaning); every other integer must be positive.
NON_NEGATIVE: dict[str, str] = {
    "telemetry.lock_timeout_ms": "0: one try, then the lines are spooled",
    "lsp.ready_timeout_ms": "0: do not wait for the server to be ready",
    "cache.max_bytes": "0: nothing is cached",
    "cache.max_entry_bytes": "0: nothing is cached",
    "build.lock_timeout_ms": "0: fail at once if another build holds the lock",
    "build.jobs": "0: one worker process per core",
    "search.history": "0: recent commits do not count in the ranking",
    "search.server_min_files": "0: a server for every segment",
}


def integer_bounds() -> dict[str, int]:
    """The lowest accepted value of every integer setting (``section.key`` -> 0 or 1)."""

    bounds: dict[str, int] = {}
    for section, table in DEFAULTS.items():
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            if isinstance(value, int) and not isinstance(value, bool):
                where = f"{section}.{key}"
                bounds[where] = 0 if where in NON_NEGATIVE else 1
    return bounds


# Environment variables that map onto settings: TRIFECTA_<SECTION>_<KEY>, plus short aliases.
ENV_ALIASES: dict[str, tuple[str, ...]] = {
    "TRIFECTA_TELEMETRY": ("telemetry", "level"),
    "TRIFECTA_SEGMENT": ("segment",),
}


INT_MAX = 2**31 - 1  # every integer setting (bytes, ms, s, counts) fits comfortably


def _integer(value: Any, where: str) -> int:
    """An integer setting: a TOML/JSON integer or a string of digits. ``true``, ``1.5``,
    ``inf`` and numbers past ``INT_MAX`` are refused, never truncated or overflowed."""

    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        if len(value) > 30:
            raise ConfigError(f"invalid setting {where}: {value[:12]}... is over {INT_MAX}")
        number = int(value)
    if number is None:
        raise ConfigError(f"invalid setting {where}: expected an integer, got {value!r}")
    if number > INT_MAX:
        raise ConfigError(f"invalid setting {where}: {number} is over {INT_MAX}")
    return number


def _coerce(template: Any, value: Any, where: str) -> Any:
    if isinstance(template, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"invalid setting {where}: expected a boolean, got {value!r}")
    if isinstance(template, int):
        return _integer(value, where)
    if isinstance(template, list):
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise ConfigError(f"invalid setting {where}: expected a list of strings, got {value!r}")
    if isinstance(template, str):
        if not isinstance(value, str):
            raise ConfigError(f"invalid setting {where}: expected a string, got {value!r}")
        return value
    return value


def _merge(base: dict[str, Any], layer: Mapping[str, Any], prefix: str) -> None:
    for key, value in layer.items():
        where = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"unknown setting {where!r}")
        if isinstance(base[key], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"invalid setting {where}: expected a table")
            _merge(base[key], value, where + ".")
        else:
            base[key] = _coerce(base[key], value, where)


def env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``TRIFECTA_*`` variables into a settings layer.

    A name whose first word is a settings section (``TRIFECTA_FILES_...``) must name one of
    its keys: ``TRIFECTA_FILES_MAXBYTES`` or a bare ``TRIFECTA_FILES`` is a ``ConfigError``.
    Other ``TRIFECTA_*`` names (not ours to judge) are ignored."""

    layer: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("TRIFECTA_"):
            continue
        path = ENV_ALIASES.get(name)
        if path is None:
            parts = name[len("TRIFECTA_") :].lower().split("_", 1)
            section = parts[0]
            table = DEFAULTS.get(section)
            if not isinstance(table, dict):
                continue
            if len(parts) != 2 or parts[1] not in table:
                keys = ", ".join(f"TRIFECTA_{section}_{k}".upper() for k in table)
                raise ConfigError(f"unknown setting {name} (the [{section}] ones: {keys})")
            path = (section, parts[1])
        node = layer
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return layer


def merge_settings(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid by each layer in order (later wins); validated and coerced."""

    merged = copy.deepcopy(DEFAULTS)
    for layer in layers:
        _merge(merged, layer, "")
    level = merged["telemetry"]["level"]
    if level not in TELEMETRY_LEVELS:
        raise ConfigError(
            f"invalid telemetry level {level!r}: expected one of {', '.join(TELEMETRY_LEVELS)}"
        )
    if merged["lsp"]["mode"] not in LSP_MODES:
        raise ConfigError(
            f"invalid setting lsp.mode {merged['lsp']['mode']!r}: expected one of "
            + ", ".join(LSP_MODES)
        )
    if merged["search"]["server"] not in SEARCH_SERVER:
        raise ConfigError(
            f"invalid setting search.server {merged['search']['server']!r}: expected one of "
            + ", ".join(SEARCH_SERVER)
        )
    for where, lowest in integer_bounds().items():
        section, key = where.split(".")
        value = merged[section][key]
        if value < lowest:
            rule = "must be positive" if lowest else "must be 0 or more"
            raise ConfigError(f"invalid setting {where}: {rule}, got {value}")
    if merged["mcp"]["max_tokens"] < MCP_MIN_TOKENS:
        raise ConfigError(
            f"invalid setting mcp.max_tokens: must be at least {MCP_MIN_TOKENS}, "
            f"got {merged['mcp']['max_tokens']}"
        )
    return merged


class RequestDefaults:
    """What a request leaves out, from the settings (the one place the CLI and the
    embedding API take their defaults from): ``search.limit``, ``get.budget_token_est``,
    ``get.max_chunks``, ``lsp.timeout_ms``, ``lsp.ready_timeout_ms``."""

    __slots__ = (
        "get_budget_token_est",
        "get_max_chunks",
        "lsp_ready_timeout_ms",
        "lsp_timeout_ms",
        "search_limit",
    )

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.search_limit = int(settings["search"]["limit"])
        self.get_budget_token_est = int(settings["get"]["budget_token_est"])
        self.get_max_chunks = int(settings["get"]["max_chunks"])
        self.lsp_timeout_ms = int(settings["lsp"]["timeout_ms"])
        self.lsp_ready_timeout_ms = int(settings["lsp"]["ready_timeout_ms"])
