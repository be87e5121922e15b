"""The symbol selector grammar, as pure code.

Accepted forms::

    sym://python/mod/<dotted.module>
    sym://python/mod/<dotted.module>#<Qualified.Name>
    sym://python/type/<dotted.module>[#<Qualified.Name>]   (accepted as the original did)
    <dotted.module>:<Qualified.Name>                        (short form)
    <dotted.module>                                         (short form, whole module)

A dotted name is one or more Python identifiers joined by single dots. Anything else raises
``SelectorError`` with a message saying what is wrong.
"""

from __future__ import annotations

from trifecta.domain.errors import SelectorError
from trifecta.domain.model import Selector

SCHEME = "sym://"
LANGUAGE = "python"
KINDS = ("mod", "type")


def _check_dotted(value: str, what: str, selector: str) -> str:
    if not value:
        raise SelectorError(f"malformed selector {selector!r}: {what} is empty")
    for part in value.split("."):
        if not part:
            raise SelectorError(
                f"malformed selector {selector!r}: {what} {value!r} has an empty dotted part"
            )
        if not part.isidentifier():
            raise SelectorError(
                f"malformed selector {selector!r}: {part!r} in {what} is not a Python identifier"
            )
    return value


def _parse_uri(text: str) -> Selector:
    rest = text[len(SCHEME) :]
    pieces = rest.split("/", 2)
    if len(pieces) < 3:
        raise SelectorError(
            f"malformed selector {text!r}: expected sym://python/mod/<dotted.module>[#Member]"
        )
    language, kind, target = pieces
    if language != LANGUAGE:
        raise SelectorError(f"malformed selector {text!r}: unsupported language {language!r}")
    if kind not in KINDS:
        raise SelectorError(
            f"malformed selector {text!r}: kind must be one of {', '.join(KINDS)}, not {kind!r}"
        )
    module, hash_sign, member = target.partition("#")
    _check_dotted(module, "module", text)
    if hash_sign:
        _check_dotted(member, "member", text)
        return Selector(module=module, member=member, kind=kind)
    return Selector(module=module, member=None, kind=kind)


def parse_selector(text: str) -> Selector:
    """Parse a selector string; raise ``SelectorError`` saying what is wrong."""

    text = text.strip()
    if not text:
        raise SelectorError("malformed selector: it is empty")
    if text.startswith(SCHEME):
        return _parse_uri(text)
    if "://" in text:
        raise SelectorError(f"malformed selector {text!r}: the scheme must be sym://")
    module, colon, member = text.partition(":")
    _check_dotted(module, "module", text)
    if colon:
        _check_dotted(member, "member", text)
        return Selector(module=module, member=member)
    return Selector(module=module)


SOURCE_ROOTS = ("", "src/")


def module_candidates(module: str) -> list[str]:
    """Segment-relative files that may hold ``module``, in lookup order: ``pkg/mod.py``,
    ``pkg/mod/__init__.py``, then the same under ``src/``."""

    base = module.replace(".", "/")
    return [f"{root}{base}{suffix}" for root in SOURCE_ROOTS for suffix in (".py", "/__init__.py")]
