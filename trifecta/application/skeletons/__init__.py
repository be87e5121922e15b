"""Skeletons: extraction with the ast -> Tree-sitter fallback, caching, module symbols
(``use_cases``), and the stub text served to agents (``stub``)."""
