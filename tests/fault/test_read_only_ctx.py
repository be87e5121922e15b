"""A read-only ``_ctx`` (a read-only bind mount in a private mount namespace, since the
tests run as root and permissions do not stop root): reads serve, writes say why."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.fault.helpers import COMMAND_TIMEOUT_S, assert_clean, cli, make_segment


def read_only_cli(seg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with ``seg/_ctx`` bind-mounted read-only in a mount namespace of its own
    (the mount ends with the process; nothing outside sees it)."""

    ctx = shlex.quote(str(seg / "_ctx"))
    command = " ".join(
        shlex.quote(a) for a in (sys.executable, "-m", "trifecta", "--segment", str(seg), *args)
    )
    script = f"mount --bind {ctx} {ctx} && mount -o remount,ro,bind {ctx} {ctx} && exec {command}"
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=COMMAND_TIMEOUT_S,
        cwd=seg,
        env={**os.environ, "TRIFECTA_TELEMETRY": "lite", "TRIFECTA_LSP_AUTOSTART": "1"},
    )


def test_the_mount_really_is_read_only(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    (seg / "_ctx").mkdir()
    ctx = shlex.quote(str(seg / "_ctx"))
    probe = subprocess.run(
        [
            "unshare",
            "--mount",
            "sh",
            "-c",
            f"mount --bind {ctx} {ctx} && mount -o remount,ro,bind {ctx} {ctx} "
            f"&& touch {ctx}/probe",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=COMMAND_TIMEOUT_S,
    )
    assert probe.returncode != 0
    assert "Read-only file system" in probe.stderr


def test_a_valid_pack_serves_from_a_read_only_ctx(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    assert cli(seg, "ctx", "build").returncode == 0
    # A checkout rewrites the pack with the same content and a new mtime: the stamp no
    # longer matches, the content does.
    pack = seg / "_ctx" / "context_pack.json"
    pack.write_bytes(pack.read_bytes())
    # An old failure note: a resolve would delete it and launch a warm server.
    failed = seg / "_ctx" / "lsp.failed"
    failed.write_text("pyright could not be started\n")
    os.utime(failed, (failed.stat().st_atime - 7200, failed.stat().st_mtime - 7200))

    search = read_only_cli(seg, "ctx", "search", "-q", "helper", "--json")
    assert_clean(search)
    assert search.returncode == 0, search.stderr
    hits = json.loads(search.stdout)["hits"]
    assert hits and hits[0]["path"] == "pkg/mod.py"
    get = read_only_cli(seg, "ctx", "get", "-i", hits[0]["id"], "--json")
    assert_clean(get)
    assert get.returncode == 0, get.stderr
    for args in (
        ("ctx", "validate"),
        ("ast", "skeleton", "pkg/mod.py"),
        ("ast", "symbols", "sym://python/mod/pkg.mod"),
    ):
        proc = read_only_cli(seg, *args)
        assert_clean(proc)
        assert proc.returncode == 0, (args, proc.stderr)

    resolve = read_only_cli(seg, "ast", "resolve", "pkg.mod:helper", "--json")
    assert_clean(resolve)
    assert resolve.returncode == 0, resolve.stderr
    answer = json.loads(resolve.stdout)
    assert answer["resolved"] is True
    assert answer["resolved_by"] != "lsp"

    build = read_only_cli(seg, "ctx", "build")
    assert_clean(build)
    assert build.returncode == 1
    assert build.stderr.count("\n") <= 2
    assert "cannot write _ctx (Read-only file system)" in build.stderr
