"""``record``: what the value classes promise (the dataclass behaviour they replaced)."""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from trifecta.domain.packs import PackChunk
from trifecta.domain.records import FrozenRecordError, record, replace


@record
class Point:
    """A documented record."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.x + self.y


@record
class Other:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


@record
class Single:
    name: str


@record
class Empty:
    pass


@dataclass(frozen=True)
class PointDataclass:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


def test_fields_in_order_with_defaults_by_position_or_name() -> None:
    assert Point.__record_fields__ == ("x", "y", "tags")  # type: ignore[attr-defined]
    assert Point.__match_args__ == ("x", "y", "tags")
    p = Point(1, tags=("a",))
    assert (p.x, p.y, p.tags, p.total) == (1, 0, ("a",), 1)
    assert Point(x=2, y=3) == Point(2, 3)
    assert Point.__doc__ == "A documented record."
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, 2, (), 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=2)  # type: ignore[call-arg]


def test_frozen() -> None:
    p = Point(1)
    with pytest.raises(FrozenRecordError, match="cannot assign to field 'x'"):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.other = 2  # type: ignore[attr-defined]
    with pytest.raises(FrozenRecordError, match="cannot delete field 'y'"):
        del p.y
    assert p == Point(1, 0, ())


def test_equality_and_hash_as_the_dataclass_had_them() -> None:
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2, ("a",))) == hash(Point(1, 2, ("a",)))
    assert Point(1) != Other(1)  # type: ignore[comparison-overlap]  # same fields, other class
    assert Point(1) != (1, 0, ())  # type: ignore[comparison-overlap]
    assert len({Point(1), Point(1), Point(2)}) == 2
    assert Single("a") == Single("a") and hash(Single("a")) == hash(Single("a"))
    assert Single("a") != Single("b")
    assert Empty() == Empty() and hash(Empty()) == hash(Empty())
    # the same definition as a frozen dataclass: the same answers
    pairs = [((1, 2, ()), (1, 2, ())), ((1, 2, ()), (1, 3, ())), ((1, 0, ("a",)), (1, 0, ()))]
    for a, b in pairs:
        assert (Point(*a) == Point(*b)) == (PointDataclass(*a) == PointDataclass(*b))


def test_repr_names_the_fields() -> None:
    assert repr(Point(1, tags=("a",))) == "Point(x=1, y=0, tags=('a',))"
    assert repr(Point(1)) == repr(PointDataclass(1)).replace("PointDataclass", "Point")
    assert repr(Single("a")) == "Single(name='a')" and repr(Empty()) == "Empty()"


def test_replace_takes_records_and_dataclasses() -> None:
    p = Point(1, 2)
    assert replace(p, y=5) == Point(1, 5) and p == Point(1, 2)
    assert replace(PointDataclass(1), y=5) == PointDataclass(1, 5)
    with pytest.raises(TypeError, match="Point has no field"):
        replace(p, z=1)


def test_records_pickle_and_copy() -> None:
    chunk = PackChunk("a.py#f", "a.py", "function", "f", ("f",), 1, 2, "0" * 64, 3)
    assert pickle.loads(pickle.dumps(chunk)) == chunk  # what build workers send
    assert pickle.loads(pickle.dumps(Point(1, tags=("x",)))) == Point(1, tags=("x",))


def test_what_a_record_cannot_be() -> None:
    with pytest.raises(TypeError, match="no default after a default"):

        @record
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(TypeError, match="cannot inherit"):

        @record
        class Child(Point):
            z: int = 0


def test_no_module_calls_dataclasses_replace() -> None:
    # records.replace takes both kinds; dataclasses.replace refuses a record, and the type
    # checker would not say so (records are typed as dataclasses)
    root = Path(__file__).resolve().parents[2] / "trifecta"
    pattern = re.compile(r"from dataclasses import[^\n]*\breplace\b|dataclasses\.replace\(")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "records.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
