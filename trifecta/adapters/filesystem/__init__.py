"""The local filesystem: confined reads and gitignore-aware listing of a segment."""
