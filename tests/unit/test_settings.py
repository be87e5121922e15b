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


# ---- strictness (fixb) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["TRIFECTA_FILES_MAXBYTES", "TRIFECTA_LSP_TIMEOUT", "TRIFECTA_CACHE", "TRIFECTA_GET_BUDGET"],
)
def test_unknown_key_of_a_known_section_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        env_layer({name: "10"})
    message = str(info.value)
    assert name in message and "\n" not in message


def test_known_aliases_and_foreign_sections_stay_allowed() -> None:
    layer = env_layer(
        {"TRIFECTA_TELEMETRY": "off", "TRIFECTA_SEGMENT": ".", "TRIFECTA_DEBUG": "1", "X": "1"}
    )
    assert layer == {"telemetry": {"level": "off"}, "segment": "."}


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        (("files", "max_bytes"), -1, False),
        (("files", "max_bytes"), 0, False),
        (("files", "max_bytes"), 1, True),
        (("telemetry", "rotate_bytes"), 0, False),
        (("telemetry", "lock_timeout_ms"), 0, True),
        (("telemetry", "lock_timeout_ms"), -5, False),
        (("lsp", "timeout_ms"), 0, False),
        (("lsp", "ready_timeout_ms"), 0, True),
        (("lsp", "ready_timeout_ms"), -1, False),
        (("lsp", "idle_timeout_s"), 0, False),
        (("cache", "max_bytes"), 0, True),
        (("cache", "max_bytes"), -1, False),
        (("cache", "max_entry_bytes"), 0, True),
        (("cache", "max_entry_bytes"), -1, False),
        (("search", "limit"), 0, False),
        (("get", "budget_token_est"), 0, False),
        (("get", "max_chunks"), 0, False),
        (("build", "lock_timeout_ms"), 0, True),
        (("build", "lock_timeout_ms"), -1, False),
    ],
)
def test_numbers_have_a_lower_bound(key: tuple[str, str], value: int, ok: bool) -> None:
    layer = {key[0]: {key[1]: value}}
    if ok:
        assert merge_settings(layer)[key[0]][key[1]] == value
        return
    with pytest.raises(ConfigError) as info:
        merge_settings(layer)
    assert f"{key[0]}.{key[1]}" in str(info.value)


def test_negative_size_from_the_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"files\.max_bytes"):
        merge_settings(env_layer({"TRIFECTA_FILES_MAX_BYTES": "-1"}))


def test_every_integer_setting_has_a_bound() -> None:
    from trifecta.application.settings import integer_bounds

    bounds = integer_bounds()
    for section, table in DEFAULTS.items():
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            if isinstance(value, int) and not isinstance(value, bool):
                assert bounds[f"{section}.{key}"] in (0, 1)


def test_the_mcp_answer_bound_is_a_setting_with_a_floor() -> None:
    assert merge_settings()["mcp"]["max_tokens"] == 20000
    layer = env_layer({"TRIFECTA_MCP_MAX_TOKENS": "4000"})
    assert merge_settings(layer)["mcp"]["max_tokens"] == 4000
    with pytest.raises(ConfigError, match=r"mcp\.max_tokens: must be at least 1000, got 999"):
        merge_settings({"mcp": {"max_tokens": 999}})
