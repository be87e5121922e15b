"""LanguageServer: Pyright over stdio (framing -> JSON-RPC -> session -> pyright)."""
