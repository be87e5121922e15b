"""Process-level adapters: the system clock."""
