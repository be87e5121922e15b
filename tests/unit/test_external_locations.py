"""External definitions: module names from paths outside the segment, the definition at a
line of a stub, collapsing overloads."""

from __future__ import annotations

import textwrap

from trifecta.application.symbols.answers import collapse_same_symbol
from trifecta.domain.model import SymbolLocation
from trifecta.domain.pysource import definition_at, module_of_file

STUB = textwrap.dedent(
    """\
    import sys
    from typing import TextIO, overload

    stdout: TextIO

    class bytes:
        def join(self, parts) -> bytes: ...
        @overload
        def split(self) -> list[bytes]: ...
        if sys.version_info >= (3, 9):
            def removeprefix(self, prefix) -> bytes: ...
        class Inner:
            x = 1

    def len(obj) -> int: ...
    """
)


def test_definition_at_names_the_innermost_definition_on_the_line() -> None:
    assert definition_at(STUB, 4) == ("stdout", "variable")
    assert definition_at(STUB, 6) == ("bytes", "class")
    assert definition_at(STUB, 7) == ("bytes.join", "method")
    assert definition_at(STUB, 9) == ("bytes.split", "method")  # the def line, not @overload
    assert definition_at(STUB, 11) == ("bytes.removeprefix", "method")
    assert definition_at(STUB, 13) == ("bytes.Inner.x", "variable")
    assert definition_at(STUB, 15) == ("len", "function")
    assert definition_at(STUB, 1) is None
    assert definition_at("def broken(:\n", 1) is None


def test_module_of_file_outside_the_segment() -> None:
    def never(_: int) -> bool:
        return False

    typeshed = ("/", "x", "typeshed-fallback", "stdlib")
    assert module_of_file((*typeshed, "os", "__init__.pyi"), never) == "os"
    assert module_of_file((*typeshed, "builtins.pyi"), never) == "builtins"
    assert module_of_file((*typeshed, "email", "mime", "text.pyi"), never) == "email.mime.text"
    stubs = ("/", "x", "typeshed-fallback", "stubs", "requests")
    assert module_of_file((*stubs, "requests", "api.pyi"), never) == "requests.api"
    site = ("/", "venv", "lib", "python3.11", "site-packages")
    assert module_of_file((*site, "attr", "_make.py"), never) == "attr._make"
    assert module_of_file((*site, "foo-stubs", "__init__.pyi"), never) == "foo"
    # a plain directory: packages are the directories holding an __init__
    plain = ("/", "usr", "lib", "python3.11", "json", "decoder.py")
    assert module_of_file(plain, lambda i: plain[i] == "json") == "json.decoder"
    assert module_of_file(("/", "tmp", "x.txt"), never) is None


def test_overloads_collapse_into_the_implementation() -> None:
    found = [
        SymbolLocation("m.py", 3, 5, 3, "function", "f"),
        SymbolLocation("m.py", 5, 5, 5, "function", "f"),
        SymbolLocation("m.py", 7, 5, 9, "function", "f"),
        SymbolLocation("n.py", 1, 1, 1, "function", "f"),
        SymbolLocation("o.py", 2, 1, 2),
    ]
    assert collapse_same_symbol(found) == (
        SymbolLocation("m.py", 7, 5, 9, "function", "f", related_lines=(3, 5)),
        SymbolLocation("n.py", 1, 1, 1, "function", "f"),
        SymbolLocation("o.py", 2, 1, 2),
    )
