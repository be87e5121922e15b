"""``NameIndexStore`` in SQLite under ``<segment>/_ctx/cache/``."""
