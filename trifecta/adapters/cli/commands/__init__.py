"""One module per command group; each handler is ``run_<name>(ns) -> int``."""
