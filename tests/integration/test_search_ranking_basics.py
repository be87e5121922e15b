"""The search ranking basics on the real SQLite index in a temporary directory (moved from
the fake index, which must not re-implement BM25): a CamelCase class name finds its
snake_case file first; scores descend, ties break by chunk id."""

from __future__ import annotations

from pathlib import Path

from trifecta.api import Segment


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_camel_case_class_name_finds_its_snake_case_file_first(tmp_path: Path) -> None:
    seg = write(
        tmp_path,
        {
            "src/context_service.py": "class ContextService:\n    def build_context(self):\n"
            "        return 1\n",
            "src/context.py": "def context():\n    pass\n\n\ndef service_context():\n    pass\n",
            "src/service.py": "def service():\n    pass\n",
            "src/other.py": "def unrelated():\n    pass\n",
            "docs/guide.md": "# Context service\n\nThe context service builds context.\n",
        },
    )
    with Segment(seg, {"telemetry": {"level": "off"}}) as s:
        s.build()
        result = s.search("ContextService")
    assert result.hits[0].chunk.path == "src/context_service.py"
    assert result.hits[0].chunk.id == "src/context_service.py#ContextService"
    assert not result.freshness.stale


def test_scores_descend_and_ties_break_by_id(tmp_path: Path) -> None:
    seg = write(tmp_path, {f"pkg/m{i}.py": "def same():\n    pass\n" for i in range(4)})
    with Segment(seg, {"telemetry": {"level": "off"}}) as s:
        s.build()
        hits = s.search("same", limit=10).hits
    keys = [(-h.score, h.chunk.id) for h in hits]
    assert keys == sorted(keys) and len(hits) >= 4
    functions = [h for h in hits if h.chunk.kind == "function"]
    assert len(functions) == 4 and len({h.score for h in functions}) == 1
