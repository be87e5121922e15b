"""The search index beside the pack: SQLite FTS5 (standard library ``sqlite3``), BM25."""
