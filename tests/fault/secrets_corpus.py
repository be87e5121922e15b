"""Thirty-odd kinds of secret, in the shapes secret scanners (gitleaks, detect-secrets)
know; all made up. Built from parts so no scanner flags this file."""

from __future__ import annotations

A = "abcdefghijklmnopqrstuvwxyz"
D = "0123456789"
MIX = "Zq8vN2xL5tR9wK3mP7yB4cH6jD1fG0sA"  # 32 mixed characters


def _rep(text: str, n: int) -> str:
    return (text * (n // len(text) + 1))[:n]


SECRETS: dict[str, str] = {
    "aws_access_key": "AKIA" + "IOSFODNN7EXAMPL2",
    "aws_secret_pair": "aws_secret_access_key=" + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
    "gcp_api_key": "AIza" + _rep("Sy" + MIX, 35),
    "gcp_oauth": "ya29." + _rep(MIX, 40),
    "google_client_secret": "GOCSPX-" + _rep(MIX, 28),
    "azure_client_secret": "abc" + "8Q~" + _rep(MIX, 32),
    "azure_account_key": "AccountKey=" + _rep(MIX, 86) + "==",
    "github_pat": "ghp_" + _rep(MIX, 36),
    "github_fine_grained": "github_pat_" + _rep(MIX + "_", 60),
    "gitlab_pat": "glpat-" + _rep(MIX, 20),
    "npm_token": "npm_" + _rep(MIX, 36),
    "pypi_token": "pypi-AgEIcHlwaS5vcmc" + _rep(MIX, 60),
    "slack_bot": "xoxb-" + D + "-" + D + "-" + _rep(MIX, 24),
    "slack_user": "xoxp-" + D + "-" + D + "-" + D + "-" + _rep(MIX, 32),
    "slack_webhook": "https://hooks.slack.com/services/T" + D[:8] + "/B" + D[:8] + "/" + MIX[:24],
    "stripe_live": "sk_" + "live_" + _rep(MIX, 24),
    "stripe_restricted": "rk_" + "test_" + _rep(MIX, 24),
    "openai_key": "sk-" + "proj-" + _rep(MIX, 40),
    "anthropic_key": "sk-" + "ant-api03-" + _rep(MIX, 40),
    "jwt": "eyJhbGciOiJIUzI1NiJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    + ".dBjftJeZ4CVPmB92K27uhbUJU1p1r",
    "email": "jane.doe" + "@" + "example.com",
    "password_pair": "password=" + "hunter2Secret!",
    "secret_pair": "secret: " + "s3cr3t-value",
    "token_pair": "token=" + "abc123def456",
    "api_key_pair": "api_key=" + "k-" + D,
    "url_credentials": "https://admin:" + "pa55word" + "@db.internal.example/x",
    "private_key": "-----BEGIN OPENSSH "
    + "PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH "
    + "PRIVATE KEY-----",
    "twilio_key": "SK" + _rep("0123456789abcdef", 32),
    "sendgrid_key": "SG." + _rep(MIX, 22) + "." + _rep(MIX, 43),
    "huggingface": "hf_" + _rep(A.upper() + A, 34),
    "dockerhub": "dckr_pat_" + _rep(MIX, 27),
    "vault": "hvs." + _rep(MIX, 24),
    "telegram": "1234567890:AA" + _rep(MIX, 33),
    "bearer": "Bearer " + _rep(MIX, 30),
    "high_entropy": _rep("9fK2" + MIX + "x7Qz", 40),
}


def secret_values() -> dict[str, str]:
    """The part of each entry that must never be seen (the value of a pair, the password
    of a URL, the whole token otherwise)."""

    out = {}
    for kind, text in SECRETS.items():
        if kind.endswith("_pair") or kind == "azure_account_key":
            out[kind] = text.split("=", 1)[-1].split(": ", 1)[-1]
        elif kind == "url_credentials":
            out[kind] = "pa55word"
        elif kind == "bearer":
            out[kind] = text.split(" ", 1)[1]
        elif kind == "private_key":
            out[kind] = "b3BlbnNzaC1rZXk"
        else:
            out[kind] = text
    return out
