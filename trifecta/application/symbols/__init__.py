"""Symbols: resolve selectors and positions (``use_cases``) through the language server
with the fallback policy (``fallback``) onto the segment's symbol index (``index``), whose
positions follow Python's scoping rules (``scopes``, over source text read by ``pytext``);
``answers`` collapses the definitions of one symbol (overloads, property accessors)."""
