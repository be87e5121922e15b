"""Every documented setting changes behaviour, through ``_ctx/trifecta.toml`` and through its
``TRIFECTA_*`` variable (docs/architecture.md, Settings). Each case names the setting, the
value in both spellings, and what must then be observed; with the defaults each check fails
(``test_checks_fail_with_the_defaults``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from dependency_injector import providers

from tests.conftest import CliRunner
from tests.fakes import FakeLanguageServer
from trifecta.api import Segment
from trifecta.bootstrap import Root


@dataclass(frozen=True)
class Case:
    setting: str  # section.key
    toml: str  # the value as TOML
    env: str  # the value of TRIFECTA_<SECTION>_<KEY>
    check: Callable[[Path], None]

    @property
    def variable(self) -> str:
        section, key = self.setting.split(".")
        return f"TRIFECTA_{section}_{key}".upper()


def _ids(seg: Segment, n: int) -> list[str]:
    return [h.chunk.id for h in seg.search("service", limit=n).hits]


def search_limit(segment: Path) -> None:
    with Segment(segment) as seg:
        seg.build()
        assert len(seg.search("service").hits) == 2


def _best_score(segment: Path, path: str, flags: dict[str, object]) -> float:
    with Segment(segment, flags) as seg:
        seg.build()  # demotion is applied at build time
        return max(h.score for h in seg.search("service").hits if h.chunk.path == path)


def search_demote(segment: Path) -> None:
    demoted = _best_score(segment, "pkg/service.py", {})
    plain = _best_score(segment, "pkg/service.py", {"search": {"demote": []}})
    assert demoted < plain


def search_history(segment: Path) -> None:
    with Segment(segment) as seg:  # how many recent commits the ranking's prior reads
        assert seg.container.packs.history().commits == 3


def get_max_chunks(segment: Path) -> None:
    with Segment(segment) as seg:
        seg.build()
        result = seg.get(_ids(seg, 3))
    assert len(result.chunks) == 1 and result.stop_reason == "max_chunks"


def get_budget(segment: Path) -> None:
    with Segment(segment) as seg:
        seg.build()
        result = seg.get(_ids(seg, 3), mode="raw")
    assert result.stop_reason == "budget"


def files_max_bytes(segment: Path) -> None:
    with Segment(segment) as seg:
        report = seg.build()
    assert "pkg/service.py" in {s.path for s in report.skipped}


def files_include(segment: Path) -> None:
    with Segment(segment) as seg:
        report = seg.build()
    assert report.files == 1  # README.md only


def files_exclude(segment: Path) -> None:
    with Segment(segment) as seg:
        report = seg.build()
    assert report.files == 2  # README.md and pkg/service.py (the rest excluded)


def telemetry_level(segment: Path) -> None:
    with Segment(segment) as seg:
        seg.resolve("pkg.service:make_service", no_lsp=True)
    assert not (segment / "_ctx" / "telemetry").exists()


def telemetry_rotate(segment: Path) -> None:
    with Segment(segment) as seg:
        for _ in range(30):
            seg.telemetry.event("probe", {"n": 1}, {"ok": True}, 1)
    names = {p.name for p in (segment / "_ctx" / "telemetry").iterdir()}
    assert len([n for n in names if n.startswith("events")]) > 1, names


def _with_fake_lsp(segment: Path) -> tuple[Root, FakeLanguageServer]:
    root = Root(segment)
    lsp = FakeLanguageServer()
    root.symbols.lsp_client.override(providers.Object(lsp))
    return root, lsp


def lsp_timeout(segment: Path) -> None:
    root, lsp = _with_fake_lsp(segment)
    with Segment.from_root(root) as seg:
        seg.resolve("pkg.service:make_service")
    assert lsp.deadlines and set(lsp.deadlines) == {123}


def lsp_ready_timeout(segment: Path) -> None:
    root, lsp = _with_fake_lsp(segment)
    with Segment.from_root(root) as seg:
        seg.resolve("pkg.service:make_service", timeout_ms=50, require_lsp=True)
    assert lsp.deadlines and set(lsp.deadlines) == {4321}  # max(timeout, ready wait)


def lsp_enabled(segment: Path) -> None:
    root, lsp = _with_fake_lsp(segment)
    with Segment.from_root(root) as seg:
        answer = seg.resolve("pkg.service:make_service")
    assert answer.fallback_reason == "lsp_disabled" and lsp.requests == 0


def lsp_autostart(segment: Path) -> None:
    # Behaviour (no server launched on lsp_cold) is tested in test_lsp_daemon.py; here:
    # the setting reaches the client (constructing it launches nothing).
    with Segment(segment) as seg:
        assert seg.container.symbols.lsp_client()._autostart is False


def lsp_idle_timeout(segment: Path) -> None:
    with Segment(segment) as seg:
        daemon = seg.container.symbols.lsp_daemon()
    assert daemon._idle_timeout_ns == 7 * 1_000_000_000


def cache_max_bytes(segment: Path) -> None:
    with Segment(segment) as seg:
        seg.skeleton("pkg/service.py")
        assert seg.skeleton("pkg/service.py").cache_hit is False


def lock_timeout(section: str) -> Callable[[Path], None]:
    def check(segment: Path) -> None:
        with Segment(segment) as seg:
            if section == "build":
                assert seg.container.packs.settings().lock_timeout_ms == 0
            else:
                assert seg.container.core.jsonl_sink().lock_timeout_ns == 0

    return check


CASES = [
    Case("search.limit", "2", "2", search_limit),
    Case("search.demote", '["service.py"]', "service.py", search_demote),
    Case("search.history", "3", "3", search_history),
    Case("get.max_chunks", "1", "1", get_max_chunks),
    Case("get.budget_token_est", "3", "3", get_budget),
    Case("files.max_bytes", "120", "120", files_max_bytes),
    Case("files.include", '["**/*.md"]', "**/*.md", files_include),
    Case(
        "files.exclude",
        '["pkg/use_*.py", "pkg/__init__.py"]',
        "pkg/use_*.py,pkg/__init__.py",
        files_exclude,
    ),
    Case("telemetry.level", '"off"', "off", telemetry_level),
    Case("telemetry.rotate_bytes", "300", "300", telemetry_rotate),
    Case("lsp.enabled", "false", "false", lsp_enabled),
    Case("lsp.timeout_ms", "123", "123", lsp_timeout),
    Case("lsp.ready_timeout_ms", "4321", "4321", lsp_ready_timeout),
    Case("lsp.autostart", "false", "false", lsp_autostart),
    Case("lsp.idle_timeout_s", "7", "7", lsp_idle_timeout),
    Case("cache.max_bytes", "0", "0", cache_max_bytes),
    Case("cache.max_entry_bytes", "0", "0", cache_max_bytes),
    Case("build.lock_timeout_ms", "0", "0", lock_timeout("build")),
    Case("telemetry.lock_timeout_ms", "0", "0", lock_timeout("telemetry")),
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TRIFECTA_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("case", CASES, ids=[c.setting for c in CASES])
def test_setting_from_the_config_file(case: Case, py_segment: Path) -> None:
    section, key = case.setting.split(".")
    (py_segment / "_ctx").mkdir(exist_ok=True)
    (py_segment / "_ctx" / "trifecta.toml").write_text(f"[{section}]\n{key} = {case.toml}\n")
    case.check(py_segment)


@pytest.mark.parametrize("case", CASES, ids=[c.setting for c in CASES])
def test_setting_from_the_environment(
    case: Case, py_segment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(case.variable, case.env)
    case.check(py_segment)


@pytest.mark.parametrize("case", CASES, ids=[c.setting for c in CASES])
def test_checks_fail_with_the_defaults(case: Case, py_segment: Path) -> None:
    with pytest.raises(AssertionError):
        case.check(py_segment)


def test_the_cli_takes_its_defaults_from_the_settings(py_segment: Path, cli: CliRunner) -> None:
    cli(py_segment, "ctx", "build")
    (py_segment / "_ctx" / "trifecta.toml").write_text("[search]\nlimit = 2\n")
    hits = json.loads(cli(py_segment, "ctx", "search", "-q", "service", "--json").stdout)["hits"]
    assert len(hits) == 2
    env = {"TRIFECTA_SEARCH_LIMIT": "3"}
    out = cli(py_segment, "ctx", "search", "-q", "service", "--json", env=env).stdout
    assert len(json.loads(out)["hits"]) == 3
    out = cli(
        py_segment, "ctx", "search", "-q", "service", "--json", "--limit", "4", env=env
    ).stdout
    assert len(json.loads(out)["hits"]) == 4  # a flag wins
    (py_segment / "_ctx" / "trifecta.toml").write_text("[get]\nmax_chunks = 1\n")
    ids = ",".join(h["id"] for h in hits)
    got = json.loads(cli(py_segment, "ctx", "get", "-i", ids, "--json").stdout)
    assert len(got["chunks"]) == 1 and got["stop_reason"] == "max_chunks"
