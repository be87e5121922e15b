"""Load settings: defaults < ``<segment>/_ctx/trifecta.toml`` < ``TRIFECTA_*`` < flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trifecta.application.settings import env_layer, merge_settings
from trifecta.domain.errors import ConfigError

CONFIG_FILE = Path("_ctx") / "trifecta.toml"


def read_config_file(segment: Path) -> dict[str, Any]:
    path = segment / CONFIG_FILE
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return {}  # most segments have none: tomllib (and datetime) are not imported
    except OSError as e:
        raise ConfigError(f"cannot read {CONFIG_FILE}: {e.strerror}") from e
    import tomllib

    try:
        with handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {CONFIG_FILE}: {e}") from e
    except OSError as e:
        raise ConfigError(f"cannot read {CONFIG_FILE}: {e.strerror}") from e


def load_settings(
    segment: Path,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The merged settings for ``segment``; ``segment`` itself is stored absolute."""

    root = segment.resolve()
    if not root.is_dir():
        raise ConfigError(f"segment {str(segment)!r} is not a directory")
    file_layer = read_config_file(root)
    file_layer.pop("segment", None)
    env = env_layer(os.environ if environ is None else environ)
    env.pop("segment", None)
    settings = merge_settings(file_layer, env, dict(flags or {}))
    settings["segment"] = str(root)
    return settings
