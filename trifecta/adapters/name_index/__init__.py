"""``NameIndexStore`` as one JSON file under ``<segment>/_ctx/cache/``."""
