"""Rendering for the CLI, one module per capability: use cases return data, these turn it
into the text people read and the JSON programs read (docs/cli.md)."""
