"""The warm language server of a segment: a background process behind a Unix socket
(``server.py``) and the ``LanguageServer`` port that talks to it (``client.py``)."""
