from __future__ import annotations

import pytest

from trifecta.application.settings import DEFAULTS, env_layer, merge_settings
from trifecta.domain.errors import ConfigError


def test_defaults_when_no_layer() -> None:
    merged = merge_settings()
    assert merged == DEFAULTS
    assert merged is not DEFAULTS


def test_precedence_file_then_env_then_flags() -> None:
    file_layer = {"telemetry": {"level": "full"}, "lsp": {"timeout_ms": 900}}
    env = env_layer({"TRIFECTA_TELEMETRY": "off", "TRIFECTA_LSP_TIMEOUT_MS": "700", "HOME": "/x"})
    flags = {"lsp": {"timeout_ms": 250}}
    merged = merge_settings(file_layer, env, flags)
    assert merged["telemetry"]["level"] == "off"  # env beats file
    assert merged["lsp"]["timeout_ms"] == 250  # flag beats env
    merged_no_flags = merge_settings(file_layer, env)
    assert merged_no_flags["lsp"]["timeout_ms"] == 700  # env coerced to int


def test_env_layer_ignores_unknown_and_foreign_variables() -> None:
    assert env_layer({"TRIFECTA_NOPE": "1", "PATH": "/bin"}) == {}


@pytest.mark.parametrize(
    ("layer", "fragment"),
    [
        ({"telemetry": {"level": "loud"}}, "invalid telemetry level"),
        ({"nope": 1}, "unknown setting 'nope'"),
        ({"lsp": {"timeout_ms": "soon"}}, "expected an integer"),
        ({"lsp": {"autostart": "maybe"}}, "expected a boolean"),
        ({"lsp": 3}, "expected a table"),
        ({"lsp": {"timeout_ms": 0}}, "must be positive"),
    ],
)
def test_invalid_settings_are_config_errors(layer: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        merge_settings(layer)
    assert fragment in str(info.value)
