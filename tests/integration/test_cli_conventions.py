"""The CLI behaves like the tools its users know (issue 14): the segment is found from a
subdirectory, the familiar argument forms, errors as JSON, settings files, help, completion."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CliRunner, run_cli
from trifecta.adapters.cli.parser import build_parser
from trifecta.adapters.cli.reference import commands, reference

OFF = ("--telemetry", "off")


def _git_init(path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True, capture_output=True)


# ---- 1. segment discovery ------------------------------------------------------------------


def test_a_subdirectory_finds_the_built_segment_upwards(py_segment: Path) -> None:
    run_cli(py_segment, "ctx", "build", *OFF)
    sub = py_segment / "pkg"
    proc = run_cli(None, "ctx", "search", "ContextService", "--json", *OFF, cwd=sub)
    answer = json.loads(proc.stdout)
    assert answer["segment"] == str(py_segment)
    assert answer["hits"] and answer["hits"][0]["path"] == "pkg/service.py"
    verbose = run_cli(None, "-v", "ctx", "validate", *OFF, cwd=sub)
    assert f"trifecta: segment: {py_segment} (the nearest directory upwards" in verbose.stderr


def test_a_first_build_in_a_git_subdirectory_builds_the_work_tree_root(
    py_segment: Path,
) -> None:
    _git_init(py_segment)
    proc = run_cli(None, "-v", "ctx", "build", *OFF, cwd=py_segment / "pkg")
    assert "the git work-tree root" in proc.stderr
    assert (py_segment / "_ctx" / "context_pack.json").is_file()
    assert not (py_segment / "pkg" / "_ctx").exists()


def test_outside_git_and_any_segment_the_current_directory_is_the_segment(
    py_segment: Path,
) -> None:
    sub = py_segment / "pkg"
    proc = run_cli(None, "ctx", "build", "--json", *OFF, cwd=sub)
    assert json.loads(proc.stdout)["segment"] == str(sub)
    assert (sub / "_ctx" / "context_pack.json").is_file()


def test_a_ctx_dir_holding_only_telemetry_marks_no_segment(py_segment: Path) -> None:
    (py_segment / "_ctx" / "telemetry").mkdir(parents=True)
    sub = py_segment / "pkg"
    (sub / "_ctx").mkdir()
    (sub / "_ctx" / "trifecta.toml").write_text("[search]\nlimit = 1\n")
    proc = run_cli(None, "ctx", "build", "--json", *OFF, cwd=sub / "..")
    # from the segment root: no marker upwards (only telemetry), not git -> the cwd
    assert json.loads(proc.stdout)["segment"] == str(py_segment)
    proc = run_cli(None, "-v", "ctx", "validate", *OFF, cwd=sub, check=False)
    assert f"trifecta: segment: {sub} (" in proc.stderr  # the trifecta.toml marks it


# ---- 2. familiar argument forms ------------------------------------------------------------


def test_positional_query_and_ids_work_like_the_flags(py_segment: Path, cli: CliRunner) -> None:
    cli(py_segment, "ctx", "build", *OFF)
    positional = json.loads(cli(py_segment, "ctx", "search", "make_service", "--json").stdout)
    flagged = json.loads(cli(py_segment, "ctx", "search", "-q", "make_service", "--json").stdout)
    assert positional["hits"] == flagged["hits"] and positional["hits"]
    ids = [h["id"] for h in flagged["hits"][:2]]
    by_args = json.loads(cli(py_segment, "ctx", "get", *ids, "--json").stdout)
    by_flag = json.loads(cli(py_segment, "ctx", "get", "-i", ",".join(ids), "--json").stdout)
    assert [c["id"] for c in by_args["chunks"]] == ids == [c["id"] for c in by_flag["chunks"]]
    both = cli(py_segment, "ctx", "search", "x", "-q", "y", check=False)
    assert both.returncode == 2 and "given twice" in both.stderr
    neither = cli(py_segment, "ctx", "search", check=False)
    assert neither.returncode == 2 and neither.stderr.startswith("trifecta: error: QUERY")


def test_short_version_flag(cli: CliRunner) -> None:
    for flag in ("-V", "--version"):
        proc = cli(None, flag)
        assert proc.stdout.startswith("trifecta ") and proc.stdout.count("\n") == 1


def test_zero_hits_say_so_on_stderr_unless_quiet(py_segment: Path, cli: CliRunner) -> None:
    cli(py_segment, "ctx", "build", *OFF)
    proc = cli(py_segment, "ctx", "search", "zzqqxxnothing", *OFF)
    assert proc.returncode == 0
    assert proc.stderr == "trifecta: note: no hits for 'zzqqxxnothing'\n"
    quiet = cli(py_segment, "ctx", "search", "zzqqxxnothing", "--quiet", *OFF)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_colour_only_when_asked_or_on_a_terminal(py_segment: Path, cli: CliRunner) -> None:
    cli(py_segment, "ctx", "build", *OFF)
    args = ("ctx", "search", "make_service", *OFF)
    assert "\033[" not in cli(py_segment, *args).stdout  # a pipe: auto means no colour
    forced = cli(py_segment, *args, "--color", "always").stdout
    assert "\033[36mpkg/" in forced and "\033[33mscore " in forced
    assert "\033[" not in cli(py_segment, *args, "--color", "never").stdout
    bad = cli(py_segment, *args, "--color", "sometimes", check=False)
    assert bad.returncode == 2


def test_no_color_is_honoured_on_a_terminal(py_segment: Path) -> None:
    """``auto`` on a real terminal (a pty): colour, unless NO_COLOR is set."""

    import pty

    run_cli(py_segment, "ctx", "build", *OFF)

    def through_pty(extra_env: dict[str, str]) -> bytes:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIFECTA_")}
        env.pop("NO_COLOR", None)
        env.update(extra_env)
        main, child = pty.openpty()
        import sys

        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "trifecta",
                "-s",
                str(py_segment),
                "ctx",
                "search",
                "service",
                *OFF,
            ],
            stdout=child,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
            check=True,
        )
        os.close(child)
        chunks = []
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(main)
        assert proc.returncode == 0
        return b"".join(chunks)

    assert b"\033[36m" in through_pty({})
    assert b"\033[" not in through_pty({"NO_COLOR": "1"})


# ---- 3. errors as data ---------------------------------------------------------------------

ERROR_CASES = [
    # (argv after --segment SEG, build first?, error type, exit code)
    (("ctx", "bogus"), False, "UsageError", 2),
    (("ctx", "search", "--limit", "x"), False, "UsageError", 2),
    (("ctx", "build", "--config", "missing.toml"), False, "ConfigError", 2),
    (("ctx", "sync", "--config", "missing.toml"), False, "ConfigError", 2),
    (("ctx", "search", "service"), False, "PackMissing", 1),
    (("ctx", "search", "service", "--limit", "0"), True, "InvalidRequest", 2),
    (("ctx", "get", "nope#x"), True, "UnknownChunks", 1),
    (("ctx", "get", "a", "--max-chunks", "0"), True, "InvalidRequest", 2),
    (("ctx", "validate", "--config", "missing.toml"), False, "ConfigError", 2),
    (("ctx", "stats", "--config", "missing.toml"), False, "ConfigError", 2),
    (("ast", "skeleton", "missing.py"), False, "FileMissing", 1),
    (("ast", "skeleton", "README.md"), False, "NotPython", 1),
    (("ast", "symbols", "sym://python/mod/"), False, "SelectorError", 2),
    (("ast", "symbols", "pkg.nope"), False, "FileMissing", 1),
    (("ast", "skeleton", "../outside.py"), False, "PathOutsideSegment", 1),
    (("ast", "resolve", "sym://python/mod/"), False, "SelectorError", 2),
    (("ast", "resolve", "pkg.service:Nope", "--no-lsp"), False, "SymbolNotFound", 1),
    (("ast", "definition", "pkg/service.py:999:1", "--no-lsp"), False, "PositionOutOfRange", 1),
    (("lsp", "status", "--config", "missing.toml"), False, "ConfigError", 2),
    (("lsp", "stop", "--config", "missing.toml"), False, "ConfigError", 2),
    (("telemetry", "summary", "--config", "missing.toml"), False, "ConfigError", 2),
    (("completion", "tcsh"), False, "UsageError", 2),
]


@pytest.mark.parametrize(("argv", "build", "kind", "code"), ERROR_CASES)
def test_json_failures_are_documents_with_the_documented_keys(
    py_segment: Path, cli: CliRunner, argv: tuple[str, ...], build: bool, kind: str, code: int
) -> None:
    if build:
        cli(py_segment, "ctx", "build", *OFF)
    proc = cli(py_segment, *argv, "--json", *OFF, check=False, cwd=py_segment)
    assert proc.returncode == code, proc.stderr
    document = json.loads(proc.stdout)
    error = document["error"]
    assert set(error) == {"type", "message", "hint", "exit_code"}
    assert error["type"] == kind and error["exit_code"] == code
    assert error["message"] and "\n" not in error["message"]
    (line,) = proc.stderr.splitlines()
    assert line.startswith(("trifecta: error: ", "trifecta: not found: "))
    assert "Traceback" not in proc.stderr


def test_without_json_a_failure_prints_nothing_on_stdout(py_segment: Path, cli: CliRunner) -> None:
    proc = cli(py_segment, "ctx", "search", "service", *OFF, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == "trifecta: error: no context pack, run ctx build\n"


# ---- 5. settings files ---------------------------------------------------------------------


def _hits(proc: subprocess.CompletedProcess[str]) -> int:
    return len(json.loads(proc.stdout)["hits"])


def test_settings_come_from_pyproject_then_env_then_flags(py_segment: Path, cli: CliRunner) -> None:
    cli(py_segment, "ctx", "build", *OFF)
    search = ("ctx", "search", "make_service", "--json", *OFF)
    assert _hits(cli(py_segment, *search)) == 5  # the default
    (py_segment / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.trifecta.search]\nlimit = 2\n'
    )
    assert _hits(cli(py_segment, *search)) == 2
    assert _hits(cli(py_segment, *search, env={"TRIFECTA_SEARCH_LIMIT": "3"})) == 3
    assert _hits(cli(py_segment, *search, "--limit", "4", env={"TRIFECTA_SEARCH_LIMIT": "3"})) == 4


def test_a_config_file_is_read_and_a_setting_in_two_files_is_an_error(
    py_segment: Path, cli: CliRunner, tmp_path: Path
) -> None:
    cli(py_segment, "ctx", "build", *OFF)
    extra = tmp_path / "extra.toml"
    extra.write_text("[search]\nlimit = 1\n")
    search = ("ctx", "search", "make_service", "--json", *OFF)
    assert _hits(cli(py_segment, *search, "--config", str(extra))) == 1
    (py_segment / "_ctx" / "trifecta.toml").write_text("[search]\nlimit = 3\n")
    assert _hits(cli(py_segment, *search)) == 3
    proc = cli(py_segment, *search, "--config", str(extra), check=False)
    assert proc.returncode == 2
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "ConfigError"
    assert "search.limit" in error["message"]
    assert "_ctx/trifecta.toml" in error["message"] and str(extra) in error["message"]


def test_a_pyproject_without_the_table_is_ignored(py_segment: Path, cli: CliRunner) -> None:
    (py_segment / "pyproject.toml").write_text("this is [not toml\n")
    cli(py_segment, "ctx", "build", *OFF)  # never parsed: it does not mention tool.trifecta


# ---- 4. help -------------------------------------------------------------------------------


def test_every_option_has_help_and_no_generated_metavar() -> None:
    for path, parser in [("", build_parser()), *commands(build_parser())]:
        for action in parser._actions:
            assert action.help, f"trifecta {path}: {action.dest} has no help"
            if action.option_strings and action.nargs != 0 and action.choices is None:
                metavar = action.metavar or ""
                assert metavar and "_" not in metavar, f"trifecta {path}: {action.dest}"


def test_global_options_come_after_the_commands_own(cli: CliRunner) -> None:
    text = cli(None, "ctx", "get", "--help").stdout
    assert text.index("--budget-token-est TOKENS") < text.index("global options:")
    assert text.index("global options:") < text.index("\n  --segment DIR")
    assert "--idle-timeout-s N" in cli(None, "lsp", "serve", "--help").stdout


def test_help_command_is_an_alias_of_dash_dash_help(cli: CliRunner) -> None:
    assert cli(None, "help", "ctx", "search").stdout == cli(None, "ctx", "search", "--help").stdout
    assert cli(None, "help").stdout == cli(None, "--help").stdout
    assert cli(None, "help", "nope", check=False).returncode == 2


def test_docs_cli_md_holds_the_reference_generated_from_the_parser() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert reference() in doc, "docs/cli.md is out of date: run python scripts/cli_reference.py"


# ---- 6. completion -------------------------------------------------------------------------


def test_bash_completion_completes_commands_options_and_choices(
    cli: CliRunner, tmp_path: Path
) -> None:
    script = tmp_path / "trifecta.bash"
    script.write_text(cli(None, "completion", "bash").stdout)

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in words)
        program = (
            f"source {script}; COMP_WORDS=(trifecta {line}); COMP_CWORD={len(words)}; "
            '_trifecta; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
        return proc.stdout.split()

    assert sorted(complete("c")) == ["completion", "ctx"]
    assert complete("ctx", "se") == ["search", "serve"]
    assert "--budget-token-est" in complete("ctx", "get", "--")
    assert complete("ctx", "get", "--mode", "") == ["raw", "excerpt", "skeleton"]
    assert complete("--json", "ast", "re") == ["resolve"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_the_commands(cli: CliRunner, shell: str) -> None:
    text = cli(None, "completion", shell).stdout
    assert "search" in text and "budget-token-est" in text
    assert text.startswith(f"# {shell} completion for trifecta")


def test_help_imports_neither_completion_nor_handlers() -> None:
    program = (
        "import sys\nfrom trifecta.adapters.cli.main import main\n"
        "try:\n    main(['ctx', 'search', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('trifecta.adapters.cli')))"
    )
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    loaded = proc.stdout.splitlines()[-1]
    assert "trifecta.adapters.cli.parser" in loaded
    assert "completion" not in loaded and "commands" not in loaded and "reference" not in loaded
