"""OTLP export (issue 15) with a real OTLP/HTTP receiver on 127.0.0.1: the CLI's spans,
attributes and metrics as the official protobuf messages decode them, no leak, an
unreachable collector, ``OTEL_SDK_DISABLED``, the replay, and no import when off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.otlp_receiver import Receiver, attributes, closed_port, strings

SECRET = "sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
OTEL_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_EXPORTER_OTLP_HEADERS",
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def env(**values: str) -> dict[str, str]:
    """The caller's environment without any OTEL_* variable, plus ``values``."""

    base = {k: v for k, v in os.environ.items() if k not in OTEL_VARS}
    return {**base, **values}


def run(segment: Path, *args: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "trifecta", "--segment", str(segment), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={k: v for k, v in environ.items() if not k.startswith("TRIFECTA_")},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def last_run(segment: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (segment / "_ctx" / "telemetry" / "last_run.json").read_text()
    )
    return data


@pytest.fixture
def built(py_segment: Path) -> Path:
    assert run(py_segment, "ctx", "build", environ=env()).returncode == 0
    return py_segment


def test_one_search_is_one_cli_span_with_its_children(built: Path, receiver: Receiver) -> None:
    proc = run(
        built,
        "ctx",
        "search",
        "-q",
        f"service {SECRET}",
        environ=env(
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_SERVICE_NAME="agents-ci",
            OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,team=search",
        ),
    )
    assert proc.returncode == 0, proc.stderr
    spans = receiver.spans()
    roots = [s for s in spans if not s.parent_span_id]
    assert len(roots) == 1
    root = roots[0]
    assert root.name == "trifecta ctx search"
    attrs = attributes(root)
    assert attrs["process.executable.name"] == "trifecta"
    assert attrs["process.exit.code"] == 0
    assert isinstance(attrs["process.pid"], int) and attrs["process.pid"] > 0
    assert "error.type" not in attrs
    children = [s for s in spans if s.parent_span_id == root.span_id]
    assert len(children) == len(spans) - 1 >= 1
    assert all(s.trace_id == root.trace_id for s in spans)
    search = next(s for s in children if s.name == "ctx.search")
    search_attrs = attributes(search)
    assert search_attrs["trifecta.result.status"] == "ok"
    assert search_attrs["trifecta.result.hits"] >= 1
    assert search_attrs["trifecta.tokens"] > 0
    assert root.start_time_unix_nano <= search.start_time_unix_nano
    assert search.end_time_unix_nano <= root.end_time_unix_nano
    # the same event ids as the JSONL (the source of truth)
    stored = (built / "_ctx" / "telemetry" / "events.jsonl").read_text().splitlines()
    search_line = json.loads(stored[-1])
    assert search_line["cmd"] == "ctx.search"
    assert search_attrs["trifecta.result.returned_ids"] == search_line["result"]["returned_ids"]
    resource = attributes(receiver.traces()[0].resource_spans[0].resource)
    assert resource["service.name"] == "agents-ci"
    assert resource["deployment.environment"] == "test" and resource["team"] == "search"
    # metrics: the counters of metrics.json and the latency histogram
    metrics = {
        m.name: m
        for request in receiver.metrics()
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert metrics["trifecta.ctx_search_count"].sum.data_points[0].as_int == 1
    assert metrics["trifecta.ctx_search_count"].sum.is_monotonic
    durations = metrics["trifecta.event.duration"].histogram.data_points
    by_cmd = {attributes(p)["trifecta.cmd"]: p for p in durations}
    assert by_cmd["ctx.search"].count == 1
    # health of the export, in last_run.json
    health = last_run(built)["telemetry"]
    assert isinstance(health, dict)
    assert health["otlp_spans_exported"] == len(spans)
    assert health["otlp_export_failures"] == 0


def test_nothing_leaves_that_the_jsonl_would_not_hold(
    built: Path, receiver: Receiver, tmp_path: Path
) -> None:
    query = f"{built}/pkg/service.py {SECRET} password"
    proc = run(
        built, "ctx", "search", "-q", query, environ=env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url)
    )
    assert proc.returncode == 0, proc.stderr
    sent = [s for request in receiver.traces() + receiver.metrics() for s in strings(request)]
    assert sent, "nothing was exported"
    needles = {str(tmp_path), os.path.realpath(tmp_path), os.path.expanduser("~"), SECRET}
    for text in sent:
        for needle in needles:
            assert needle not in text, (needle, text)
    queries = [
        attributes(s)["trifecta.args.query"]
        for s in receiver.spans()
        if "trifecta.args.query" in attributes(s)
    ]
    assert queries and all("pkg/service.py" in q and "<redacted:api_key>" in q for q in queries)


def test_a_failed_command_is_a_span_with_its_error_type(
    py_segment: Path, receiver: Receiver
) -> None:
    # no pack built: ctx get fails (exit 1) and records its failure event
    proc = run(
        py_segment,
        "ctx",
        "get",
        "-i",
        "nope",
        environ=env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url),
    )
    assert proc.returncode == 1
    roots = [s for s in receiver.spans() if not s.parent_span_id]
    assert len(roots) == 1
    attrs = attributes(roots[0])
    assert attrs["process.exit.code"] == 1
    assert attrs["error.type"] == "PackMissing"
    assert roots[0].status.code == 2  # STATUS_CODE_ERROR


def test_an_unreachable_collector_never_fails_the_command(built: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    proc = run(
        built, "ctx", "search", "-q", "service", environ=env(OTEL_EXPORTER_OTLP_ENDPOINT=url)
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert "service" in proc.stdout
    health = last_run(built)["telemetry"]
    assert isinstance(health, dict)
    assert health["otlp_export_failures"] == 1 and health["otlp_spans_exported"] == 0
    # the JSONL still has the event
    stored = (built / "_ctx" / "telemetry" / "events.jsonl").read_text().splitlines()
    assert json.loads(stored[-1])["cmd"] == "ctx.search"
    summary = run(built, "telemetry", "summary", "--json", environ=env())
    assert json.loads(summary.stdout)["health"]["last_run"]["otlp_export_failures"] == 1


def test_otel_sdk_disabled_exports_nothing(built: Path, receiver: Receiver) -> None:
    environ = env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_SDK_DISABLED="true")
    assert run(built, "ctx", "search", "-q", "service", environ=environ).returncode == 0
    assert receiver.requests == []
    assert "otlp_spans_exported" not in json.dumps(last_run(built))


def test_the_setting_switches_export_on(built: Path, receiver: Receiver) -> None:
    (built / "_ctx" / "trifecta.toml").write_text(f'[telemetry]\notlp = "{receiver.url}"\n')
    assert run(built, "ctx", "search", "-q", "service", environ=env()).returncode == 0
    assert [s.name for s in receiver.spans() if not s.parent_span_id] == ["trifecta ctx search"]


def test_only_the_traces_endpoint_sends_only_traces(built: Path, receiver: Receiver) -> None:
    environ = env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.url + "/custom/traces")
    assert run(built, "ctx", "search", "-q", "service", environ=environ).returncode == 0
    assert {path for path, _ in receiver.requests} == {"/custom/traces"}


# ---- replay ---------------------------------------------------------------------------------


def test_replay_sends_the_stored_events_and_is_idempotent(
    built: Path, receiver: Receiver, cli: CliRunner
) -> None:
    cli(built, "ctx", "search", "-q", "service")
    stored = [
        json.loads(line)
        for line in (built / "_ctx" / "telemetry" / "events.jsonl").read_text().splitlines()
    ]
    runs = {e["run_id"] for e in stored}
    first = run(built, "telemetry", "export", "--otlp", receiver.url, "--json", environ=env())
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["events"] == len(stored) and report["runs"] == len(runs)
    assert report["spans_exported"] == len(stored) + len(runs)  # one CLI span per run
    ids_first = sorted(s.span_id for s in receiver.spans())
    assert len(ids_first) == len(set(ids_first)) == len(stored) + len(runs)
    receiver.requests.clear()
    again = run(built, "telemetry", "export", "--otlp", receiver.url, environ=env())
    assert again.returncode == 0
    assert sorted(s.span_id for s in receiver.spans()) == ids_first


def test_replay_since_selects_events(built: Path, receiver: Receiver) -> None:
    proc = run(
        built,
        "telemetry",
        "export",
        "--otlp",
        receiver.url,
        "--since",
        "2999-01-01",
        "--json",
        environ=env(),
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["spans"] == 0
    bad = run(
        built, "telemetry", "export", "--otlp", receiver.url, "--since", "soon", environ=env()
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("trifecta: error: --since 'soon'")


def test_replay_to_an_unreachable_collector_exits_1(built: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    proc = run(built, "telemetry", "export", "--otlp", url, environ=env())
    assert proc.returncode == 1
    assert "failed" in proc.stdout


def test_live_and_replayed_spans_share_ids(built: Path, receiver: Receiver) -> None:
    environ = env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url)
    assert run(built, "ctx", "search", "-q", "service", environ=environ).returncode == 0
    live = {s.span_id for s in receiver.spans()}
    receiver.requests.clear()
    assert run(built, "telemetry", "export", "--otlp", receiver.url, environ=env()).returncode == 0
    assert live <= {s.span_id for s in receiver.spans()}


# ---- no cost when off -------------------------------------------------------------------------

PROBE = """
import sys
from trifecta.adapters.cli.main import main
code = main(sys.argv[1:])
print("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""
OTEL_MODULES = (
    "opentelemetry",
    "google.protobuf",
    "trifecta.adapters.otel",
    "trifecta.bootstrap.otel",
)


def modules_of_search(segment: Path, environ: dict[str, str]) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "--segment", str(segment), "ctx", "search", "-q", "x"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environ,
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.splitlines())


def test_with_the_variables_unset_the_import_list_is_unchanged(
    built: Path, receiver: Receiver
) -> None:
    off = modules_of_search(built, env())
    disabled = modules_of_search(
        built, env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_SDK_DISABLED="true")
    )
    on = modules_of_search(built, env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url))
    assert not [m for m in off if m.startswith(OTEL_MODULES)]
    assert off == disabled
    # the check can fail: switched on, the export's modules are there
    assert {"trifecta.adapters.otel.sink", "trifecta.adapters.otel.wire"} <= on
    # and the live export needs no third-party package (the SDK is for the replay)
    assert not [m for m in on if m.startswith(("opentelemetry", "google.protobuf"))]


def test_without_the_extra_live_export_works_and_replay_says_what_is_missing(
    built: Path, receiver: Receiver, tmp_path: Path
) -> None:
    # an opentelemetry package that cannot be imported, first on the path
    shadow = tmp_path / "shadow" / "opentelemetry"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("simulated: extra not installed")\n')
    without = env(PYTHONPATH=str(shadow.parent))
    live = {**without, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    proc = run(built, "ctx", "search", "-q", "service", environ=live)
    assert proc.returncode == 0 and proc.stderr == ""
    assert [s.name for s in receiver.spans() if not s.parent_span_id] == ["trifecta ctx search"]
    replay = run(built, "telemetry", "export", "--otlp", receiver.url, environ=without)
    assert replay.returncode == 1
    assert replay.stderr.startswith("trifecta: error: OTLP export needs the otel extra")
    assert len(replay.stderr.strip().splitlines()) == 1


# ---- the live encoder against the SDK's ---------------------------------------------------


def test_the_stdlib_encoder_matches_the_sdk_encoder() -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from trifecta.adapters.otel import sdk, wire
    from trifecta.adapters.otel.mapping import spans_of

    base = {"run_id": "run_1764582000_4242_000001", "segment": "seg", "repo_sha": "ab" * 20}
    records = [
        {
            **base,
            "ts": "2026-12-01T10:00:00.120000+00:00",
            "cmd": "lsp.definition",
            "args": {"file": "pkg/a.py", "line": 3, "symbol": "make"},
            "result": {"status": "ok", "ids": ["a", "b"], "nums": [1, -2], "ratio": 0.5},
            "timing_ms": 40,
            "warnings": ["slow server"],
            "tokens": 0,
            "dirty": True,
        },
        {
            **base,
            "ts": "2026-12-01T10:00:00.200000+00:00",
            "cmd": "ctx.get",
            "args": {"ids": ["x"]},
            "result": {"status": "error", "error": "PackMissing", "nested": {"k": None}},
            "timing_ms": 150,
            "warnings": [],
            "tokens": 0,
            "dirty": False,
        },
    ]
    spans = spans_of(records)
    assert len(spans) == 3
    scope = ("trifecta", "9.9")
    ours = ExportTraceServiceRequest()
    ours.ParseFromString(wire.trace_request(spans, {"service.name": "t"}, scope))
    theirs = ExportTraceServiceRequest()
    theirs.ParseFromString(sdk.trace_request(spans, {"service.name": "t"}, scope))
    assert ours.resource_spans[0].scope_spans == theirs.resource_spans[0].scope_spans
    root = ours.resource_spans[0].scope_spans[0].spans[0]
    assert attributes(root)["process.pid"] == 4242
    assert attributes(root)["error.type"] == "PackMissing"
    resource = attributes(ours.resource_spans[0].resource)
    assert resource == {"service.name": "t"}


def test_the_switch_reads_the_standard_variables_then_the_setting() -> None:
    from trifecta.bootstrap.core import otlp_endpoints

    url = "http://127.0.0.1:4318"
    assert otlp_endpoints({}, "") is None
    assert otlp_endpoints({"OTEL_EXPORTER_OTLP_ENDPOINT": url + "/"}, "") == (
        url + "/v1/traces",
        url + "/v1/metrics",
    )
    assert otlp_endpoints({}, url) == (url + "/v1/traces", url + "/v1/metrics")
    assert otlp_endpoints({"OTEL_EXPORTER_OTLP_ENDPOINT": url}, "http://127.0.0.1:1") == (
        url + "/v1/traces",
        url + "/v1/metrics",
    )
    assert otlp_endpoints({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": url + "/m"}, "") == (
        None,
        url + "/m",
    )
    for disabled in ("true", "TRUE", " true "):
        environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_SDK_DISABLED": disabled}
        assert otlp_endpoints(environ, url) is None
    assert otlp_endpoints({"OTEL_SDK_DISABLED": "false"}, url) is not None


def test_after_one_failure_the_collector_is_skipped_for_the_rest_of_the_process(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trifecta.api import Segment

    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    with Segment(built) as segment:
        segment.search("service")
        segment.telemetry.flush()
        first = last_run(built)["telemetry"]
        segment.search("context")
        segment.telemetry.flush()
        second = last_run(built)["telemetry"]
    assert isinstance(first, dict) and isinstance(second, dict)
    assert (first["otlp_export_failures"], first["otlp_exports_skipped"]) == (1, 0)
    assert (second["otlp_export_failures"], second["otlp_exports_skipped"]) == (1, 1)
    assert second["otlp_spans_exported"] == 0


def test_any_event_becomes_a_span_an_mcp_tool_call_too() -> None:
    from trifecta.adapters.otel.mapping import spans_of

    record = {
        "run_id": "run_1764582000_77_000002",
        "ts": "2026-12-01T10:00:01+00:00",
        "cmd": "mcp.ctx_search",
        "args": {"query": "service"},
        "result": {"status": "ok", "hits": 3},
        "timing_ms": 12,
        "tokens": 300,
        "repo_sha": "cd" * 20,
    }
    root, child = spans_of([record])
    assert root["name"] == "trifecta mcp ctx_search" and root["parent_id"] is None
    assert child["name"] == "mcp.ctx_search" and child["parent_id"] == root["span_id"]
    assert child["attributes"]["trifecta.args.query"] == "service"
    assert child["attributes"]["vcs.ref.head.revision"] == "cd" * 20
    assert child["end"] - child["start"] == 12_000_000
    assert spans_of([record]) == [root, child]  # deterministic: the same ids again
