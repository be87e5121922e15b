"""The redaction policy, string by string and over whole structures."""

from __future__ import annotations

import hashlib
import json

import pytest

from trifecta.application.telemetry.redaction import MESSAGE_MAX, QUERY_MAX, Redactor

ROOT = "/srv/work/seg"
HOME = "/home/alice"
R = Redactor(ROOT, HOME, "alice")


def ext(path: str, name: str) -> str:
    return f"external/{hashlib.sha256(path.encode()).hexdigest()[:8]}-{name}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"{ROOT}/src/a.py", "src/a.py"),
        (ROOT, "."),
        (f"{ROOT}/./src/../b.md", "b.md"),
        (f"file://{ROOT}/src/a.py", "src/a.py"),
        ("/etc/hosts", ext("/etc/hosts", "hosts")),
        (f"{ROOT}x/a.py", ext(f"{ROOT}x/a.py", "a.py")),  # a sibling, not inside
        (f"cannot read {ROOT}/a.py: denied", "cannot read a.py: denied"),
        ("see https://example.com/a/b and a/b/c", "see https://example.com/a/b and a/b/c"),
        ("ratio 1/2", "ratio 1/2"),
    ],
)
def test_paths(raw: str, expected: str) -> None:
    assert R.string(raw) == expected


def test_home_and_user_never_appear() -> None:
    out = R.string(f"open {HOME}/notes.txt and ~/x.py; ../../home/alice/y; alice wrote it")
    assert "/home/alice" not in out and "alice" not in out
    assert "<user> wrote it" in out
    # a path whose file name is the user name still does not leak it
    assert "alice" not in R.string("/home/alice")
    assert R.string("malice") == "malice"  # whole words only


@pytest.mark.parametrize(
    ("secret", "kind"),
    [
        ("AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
        ("sk-abcdefghijklmnopqrstuvwxyz012345", "api_key"),
        ("ghp_" + "a" * 36, "github_token"),
        ("github_pat_" + "B" * 40, "github_token"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "bearer"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
            "private_key",
        ),
    ],
)
def test_secret_patterns(secret: str, kind: str) -> None:
    out = R.string(f"value: {secret} end")
    assert f"<redacted:{kind}>" in out
    assert secret not in out


def test_secret_keys_redact_string_values_only() -> None:
    out = R.mapping(
        {
            "password": "hunter2",
            "api_key": "x",
            "GITHUB_TOKEN": "abc",
            "db_secret": "s3",
            "tokens": 120,
            "max_tokens": 4000,
            "empty_password": "",
        }
    )
    assert out["password"] == "<redacted:secret_field>"
    assert out["api_key"] == "<redacted:secret_field>"
    assert out["GITHUB_TOKEN"] == "<redacted:secret_field>"
    assert out["db_secret"] == "<redacted:secret_field>"
    assert out["tokens"] == 120 and out["max_tokens"] == 4000
    assert out["empty_password"] == ""


def test_truncation_and_content_hashing() -> None:
    out = R.mapping(
        {
            "query": "q" * 500,
            "message": "m" * 500,
            "snippet": "def secret(): return 42",
            "note": "n" * 2000,
        }
    )
    assert out["query"] == "q" * QUERY_MAX
    assert out["message"] == "m" * MESSAGE_MAX
    digest = hashlib.sha256(b"def secret(): return 42").hexdigest()[:12]
    assert out["snippet"] == f"sha256:{digest}"
    assert len(out["note"]) == 500


def test_nested_structures_and_keys() -> None:
    data = {
        "files": [f"{ROOT}/a.py", {"path": "/opt/x/y.py"}],
        f"{ROOT}/b.py": {"size": 3},
        "diagnostics": [{"message": f"error in {HOME}/z.py " + "x" * 200, "line": 4}],
        "tuple": (1, "/var/log/syslog"),
    }
    out = R.mapping(data)
    text = json.dumps(out)
    assert ROOT not in text and HOME not in text and "alice" not in text
    assert out["files"][0] == "a.py"
    assert "b.py" in out
    assert len(out["diagnostics"][0]["message"]) == MESSAGE_MAX
    assert out["tuple"][0] == 1


def test_without_context_paths_are_all_external() -> None:
    bare = Redactor()
    assert bare.string("/a/b.py").startswith("external/")
    assert bare.string("plain") == "plain"


def test_raw_bytes_are_hashed_never_stored() -> None:
    out = R.mapping({"blob": b"SECRET = 'x'\n", "buf": bytearray(b"abc")})
    assert out["blob"] == "sha256:" + hashlib.sha256(b"SECRET = 'x'\n").hexdigest()[:12]
    assert out["buf"].startswith("sha256:") and "abc" not in out["buf"]


def test_several_spellings_of_the_root() -> None:
    r = Redactor(("/private/tmp/seg", "/tmp/seg"), None, None)
    assert r.string("/tmp/seg/a.py") == "a.py"
    assert r.string("/private/tmp/seg/b/c.py") == "b/c.py"
    assert r.string("/tmp/segment/a.py").startswith("external/")


def test_generic_account_names_are_not_rewritten() -> None:
    r = Redactor("/srv/seg", "/root", "root")
    assert r.string("path escapes the segment root") == "path escapes the segment root"
    assert r.string("/root/.netrc").startswith("external/")
    assert "/root" not in r.string("see /root/x and ../../root/y")
