"""The context pack on disk: ``<segment>/_ctx/context_pack.json``, atomic, locked."""
