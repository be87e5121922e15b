"""The real composition root: every provider resolves (catches typos and wrong args)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dependency_injector import providers

from trifecta.bootstrap import Container, build_container, segment_label


def test_every_provider_of_the_real_container_resolves(tmp_path: Path) -> None:
    container = build_container(tmp_path, {"telemetry": {"level": "off"}})
    resolved = []
    for name, provider in container.providers.items():
        if isinstance(provider, providers.Configuration):
            continue
        if isinstance(provider, providers.Resource):
            continue  # resources start processes; they are exercised by integration tests
        provider()
        resolved.append(name)
    assert "file_reader" in resolved and "telemetry" in resolved
    container.shutdown_resources()


def test_configuration_is_strict(tmp_path: Path) -> None:
    container = build_container(tmp_path)
    with pytest.raises(Exception, match="Undefined configuration option"):
        container.config.lsp.no_such_option()


def test_flags_override_config_file(tmp_path: Path) -> None:
    (tmp_path / "_ctx").mkdir()
    (tmp_path / "_ctx" / "trifecta.toml").write_text("[lsp]\ntimeout_ms = 900\n")
    assert build_container(tmp_path).config.lsp.timeout_ms() == 900
    assert build_container(tmp_path, {"lsp": {"timeout_ms": 42}}).config.lsp.timeout_ms() == 42


def test_segment_label_is_stable_and_not_a_path(tmp_path: Path) -> None:
    label = segment_label(tmp_path)
    assert label == segment_label(tmp_path)
    assert str(tmp_path) not in label and "/" not in label
    assert isinstance(Container.config, providers.Configuration)
