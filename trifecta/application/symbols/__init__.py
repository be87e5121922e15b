"""Symbols: resolve selectors and positions (``use_cases``) through the language server
with the fallback policy (``fallback``) onto the segment's symbol index (``index``)."""
