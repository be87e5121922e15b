"""SkeletonParser on Tree-sitter (tolerant of syntax errors; the fallback)."""
