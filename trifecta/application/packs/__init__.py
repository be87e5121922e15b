"""Context packs: ingestion, chunking, build/sync, search, get, validate and stats.

Use cases live in the modules of this package; each takes its ports in the constructor.
"""
