"""The command-line interface: the driving adapter. Parses flags, calls use cases through
the composition root, prints text or ``--json``. Handlers are imported lazily so that
``--help`` and ``--version`` stay fast."""
