"""Load settings. Precedence (lowest first): defaults < the settings files < ``TRIFECTA_*``
< flags. The settings files are ``[tool.trifecta]`` in ``<segment>/pyproject.toml``,
``<segment>/_ctx/trifecta.toml`` and a ``--config FILE``; they are merged side by side, so
one setting given in two of them is a ``ConfigError`` naming both places."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trifecta.application.settings import env_layer, merge_settings
from trifecta.domain.errors import ConfigError

CONFIG_FILE = Path("_ctx") / "trifecta.toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = "tool.trifecta"


def _read_toml(path: Path, label: str, *, required: bool = False) -> dict[str, Any] | None:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"cannot read {label}: no such file") from None
        return None  # most segments have none: tomllib (and datetime) are not imported
    except OSError as e:
        raise ConfigError(f"cannot read {label}: {e.strerror}") from e
    import tomllib

    try:
        with handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {label}: {e}") from e
    except OSError as e:
        raise ConfigError(f"cannot read {label}: {e.strerror}") from e


def read_config_file(segment: Path) -> dict[str, Any]:
    """``<segment>/_ctx/trifecta.toml`` ({} when absent)."""

    return _read_toml(segment / CONFIG_FILE, str(CONFIG_FILE)) or {}


def read_pyproject(segment: Path) -> dict[str, Any]:
    """``[tool.trifecta]`` of ``<segment>/pyproject.toml`` ({} when absent). The file is
    parsed only when it mentions the table (a plain pyproject costs one read)."""

    path = segment / PYPROJECT
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    if PYPROJECT_TABLE.encode() not in raw:
        return {}
    document = _read_toml(path, PYPROJECT) or {}
    table = document.get("tool", {}).get("trifecta", {})
    if not isinstance(table, dict):
        raise ConfigError(f"invalid setting [{PYPROJECT_TABLE}] in {PYPROJECT}: expected a table")
    return table


def _leaves(layer: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in layer.items():
        if isinstance(value, Mapping):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def file_layers(
    segment: Path, config: str | Path | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The settings files that exist, as (label, layer), in precedence order."""

    layers = [
        (f"[{PYPROJECT_TABLE}] in {PYPROJECT}", read_pyproject(segment)),
        (str(CONFIG_FILE), read_config_file(segment)),
    ]
    if config is not None:
        layers.append((str(config), _read_toml(Path(config), str(config), required=True) or {}))
    return [(label, layer) for label, layer in layers if layer]


def merged_files(layers: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One layer from several files; a setting given in two of them is an error."""

    seen: dict[str, str] = {}
    for label, layer in layers:
        for key in _leaves(layer):
            if key in seen:
                raise ConfigError(f"setting {key} is given twice: in {seen[key]} and in {label}")
            seen[key] = label
    merged: dict[str, Any] = {}
    for _label, layer in layers:
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
                merged[key].update(value)
            else:
                merged[key] = dict(value) if isinstance(value, Mapping) else value
    return merged


def load_settings(
    segment: Path,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config: str | Path | None = None,
) -> dict[str, Any]:
    """The merged settings for ``segment``; ``segment`` itself is stored absolute."""

    root = segment.resolve()
    if not root.is_dir():
        raise ConfigError(f"segment {str(segment)!r} is not a directory")
    file_layer = merged_files(file_layers(root, config))
    file_layer.pop("segment", None)
    env = env_layer(os.environ if environ is None else environ)
    env.pop("segment", None)
    settings = merge_settings(file_layer, env, dict(flags or {}))
    settings["segment"] = str(root)
    return settings
