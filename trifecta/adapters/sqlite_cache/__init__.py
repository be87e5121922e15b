"""A skeleton cache in SQLite (WAL), shared by concurrent processes."""
