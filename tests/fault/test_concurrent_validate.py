"""Validate and sync against a build frozen between its index commit and its pack rename
(the window where pack and index disagree): they wait for the build lock, and never report
the index as built from another pack."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.fault.helpers import (
    COMMAND_TIMEOUT_S,
    assert_clean,
    cli,
    make_segment,
    popen_cli,
    process_state,
    wait_for,
)


def test_validate_waits_for_a_build_in_its_commit_window(tmp_path: Path) -> None:
    seg = make_segment(tmp_path)
    assert cli(seg, "ctx", "build").returncode == 0
    (seg / "x.py").write_text("def x_function_v2() -> int:\n    return 2\n")
    build = popen_cli(seg, "ctx", "build", env={"TRIFECTA_FAULT_STOP_AT": "index-committed"})
    try:
        wait_for(lambda: process_state(build.pid) == "T", 30, "the build to stop mid-commit")
        # Frozen in the window: a validate waits for the lock (here only 300 ms), it never
        # reads the new index beside the old pack.
        short = {"TRIFECTA_BUILD_LOCK_TIMEOUT_MS": "300"}
        for args in (("ctx", "validate"), ("ctx", "sync")):
            proc = cli(seg, *args, env=short)
            assert_clean(proc)
            assert proc.returncode == 1
            assert "another build holds the pack lock" in proc.stderr, proc.stderr
            assert "another pack" not in proc.stdout
        # Readers started now wait for it and see the new pair.
        validate = popen_cli(seg, "ctx", "validate", "--json")
        sync = popen_cli(seg, "ctx", "sync", "--json")
        build.send_signal(signal.SIGCONT)
        assert build.wait(COMMAND_TIMEOUT_S) == 0
        out, err = validate.communicate(timeout=COMMAND_TIMEOUT_S)
        assert validate.returncode == 0, (out, err)
        assert json.loads(out)["ok"] is True
        out, err = sync.communicate(timeout=COMMAND_TIMEOUT_S)
        assert sync.returncode == 0, (out, err)
        assert json.loads(out)["validation"]["ok"] is True
    finally:
        if build.poll() is None:
            build.send_signal(signal.SIGCONT)
            build.kill()
            build.wait()
