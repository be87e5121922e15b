"""Secret families in free text (the token families of gitleaks/detect-secrets), and the
ordinary strings telemetry holds that must stay as they are."""

from __future__ import annotations

import pytest

from tests.fault.secrets_corpus import SECRETS, secret_values
from trifecta.application.telemetry.redaction import Redactor, redact_secrets

R = Redactor("/work/seg", "/home/alice", "alice")


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_every_secret_kind_is_redacted_in_free_text(kind: str) -> None:
    text = f"look for {SECRETS[kind]} in the code"
    out = R.string(text)
    assert secret_values()[kind] not in out
    assert "<redacted:" in out
    assert out.startswith("look for ")


@pytest.mark.parametrize(
    "text",
    [
        "how does the context pack pick chunks",
        "src/app/context_service.py#ContextService",
        "pkg/we%2Cird.py#f",
        "tests/fault/test_kill_during_build.py",
        "external/1a2b3c4d-mod12.py",
        "run_1796119009_24974_568345",
        "HTTPServer2Handler.handle_request",
        "tokens: 120",
        "token_est=3",
        "sha256:0123456789ab",
        "x.py: not valid UTF-8, decoded with replacement",
        "pyright could not be started",
        "sym://python/mod/pkg.mod#Name",
        "ctx.search",
        "resolve_segment_state",
    ],
)
def test_ordinary_telemetry_strings_are_left_alone(text: str) -> None:
    assert redact_secrets(text) == text


def test_the_key_of_a_pair_is_kept() -> None:
    assert redact_secrets("db_password=hunter2 ok") == "db_password=<redacted:secret_value> ok"
    assert "admin" not in redact_secrets("postgres://admin:pw@host/db")
