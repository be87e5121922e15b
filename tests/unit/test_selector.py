from __future__ import annotations

import pytest

from trifecta.domain.errors import SelectorError, UsageError
from trifecta.domain.model import Selector
from trifecta.domain.selector import parse_selector


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sym://python/mod/email.message", Selector("email.message")),
        ("sym://python/mod/email.message#Message", Selector("email.message", "Message")),
        (
            "sym://python/mod/email.message#Message.get_payload",
            Selector("email.message", "Message.get_payload"),
        ),
        ("sym://python/type/pkg.mod#Cls", Selector("pkg.mod", "Cls", kind="type")),
        ("email.message:Message.get_payload", Selector("email.message", "Message.get_payload")),
        ("json", Selector("json")),
        ("  pkg._private:_f  ", Selector("pkg._private", "_f")),
    ],
)
def test_valid_selectors_parse(text: str, expected: Selector) -> None:
    assert parse_selector(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("sym://python/mod/", "module is empty"),
        ("sym://python/mod", "expected sym://python/mod/"),
        ("sym://rust/mod/a.b", "unsupported language 'rust'"),
        ("sym://python/fn/a.b", "kind must be one of"),
        ("sym://python/mod/a..b", "empty dotted part"),
        ("sym://python/mod/a.b#", "member is empty"),
        ("sym://python/mod/a.b#C..d", "empty dotted part"),
        ("sym://python/mod/a-b", "'a-b' in module is not a Python identifier"),
        ("http://x/y", "scheme must be sym://"),
        ("pkg.mod:", "member is empty"),
        (":Name", "module is empty"),
        ("pkg/mod.py", "not a Python identifier"),
    ],
)
def test_malformed_selectors_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_selector(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, UsageError)
    assert info.value.exit_code == 2


def test_selector_round_trips_to_uri() -> None:
    text = "sym://python/mod/email.message#Message.get_payload"
    assert str(parse_selector(text)) == text
