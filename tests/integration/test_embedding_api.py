"""The embedding facade, used as the README shows, on a real segment."""

from __future__ import annotations

from pathlib import Path

import trifecta

SOURCE = '''"""Context service module."""


class ContextService:
    """Serves context."""

    def answer(self, question: str) -> str:
        return question.upper()
'''


def test_readme_embedding_example_works(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "context_service.py").write_text(SOURCE)
    (tmp_path / "notes.md").write_text("# Notes\n\nnothing about services here\n")
    with trifecta.open_segment(tmp_path, telemetry={"level": "off"}) as seg:
        stub = seg.skeleton("pkg/context_service.py").rendered
        assert "class ContextService" in stub and "def answer(self, question: str) -> str" in stub
        assert "upper()" not in stub
        seg.build()
        hits = seg.search("ContextService", limit=5)
        assert hits.hits[0].chunk.path == "pkg/context_service.py"
        got = seg.get([hits.hits[0].chunk.id], mode="raw")
        assert got.chunks[0].text and "ContextService" in got.chunks[0].text
        where = seg.resolve("pkg.context_service:ContextService.answer", no_lsp=True)
        assert where.resolved_by == "ast" and where.fallback_reason == "lsp_disabled"
        assert [(m.path, m.line) for m in where.matches] == [("pkg/context_service.py", 7)]
    assert not (tmp_path / "_ctx" / "telemetry").exists()  # level off: nothing written
