"""``record``: frozen value classes, typed as dataclasses, made for a fraction of the cost.

Every CLI process defines the value classes of the modules it imports, and a short
command (``ctx search``) is mostly start-up. ``dataclasses`` imports ``inspect`` (and
through it ``ast``, ``dis``, ``tokenize``) and compiles six methods per frozen class: about
a third of a search's import time (docs/performance.md). ``record`` compiles one method
(``__init__``, as fast per instance as a dataclass's) and shares the others, which read
the fields through one ``operator.attrgetter`` per class.

What a record is, and the type checker is told (``dataclass_transform``): the annotated
class attributes are its fields, in order, a class value is that field's default;
``__init__`` takes them positionally or by name; instances are immutable (assigning or
deleting an attribute raises ``FrozenRecordError``, an ``AttributeError``), equal when
they are of the same class with equal fields, hashed by their fields, and shown as
``Name(field=value, ...)``. Not supported (refused or simply absent): inheritance between
records, ``ClassVar`` fields, ``field(...)`` options, ordering; ``dataclasses.replace``
does not take records (``replace`` below does).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

R = TypeVar("R")

_NO_DEFAULT = object()


class FrozenRecordError(AttributeError):
    """An attempt to assign or delete a record's attribute."""


def _setattr(self: object, name: str, value: object) -> None:
    raise FrozenRecordError(f"cannot assign to field {name!r}")


def _delattr(self: object, name: str) -> None:
    raise FrozenRecordError(f"cannot delete field {name!r}")


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return self.__record_values__(self) == other.__record_values__(other)


def _hash(self: Any) -> int:
    return hash(self.__record_values__(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_fields__)
    return f"{self.__class__.__qualname__}({shown})"


@dataclass_transform(frozen_default=True)
def record(cls: type[R]) -> type[R]:
    """Make ``cls`` a record (see the module's docstring)."""

    for base in cls.__mro__[1:]:
        if "__record_fields__" in base.__dict__:
            raise TypeError(f"{cls.__qualname__}: a record cannot inherit from a record")
    # the class's own annotations (strings under ``from __future__ import annotations``);
    # inspect.get_annotations would import inspect, the cost this module avoids
    names = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063
    namespace: dict[str, Any] = {"__set": object.__setattr__}
    params = []
    defaulted = False
    for name in names:
        if name.startswith("__") or name == "self":
            raise TypeError(f"{cls.__qualname__}.{name}: not a possible field name")
        default = cls.__dict__.get(name, _NO_DEFAULT)
        if default is _NO_DEFAULT:
            if defaulted:
                raise TypeError(f"{cls.__qualname__}.{name}: no default after a default")
            params.append(name)
        else:
            defaulted = True
            namespace[f"__default_{name}"] = default
            params.append(f"{name}=__default_{name}")
    body = "".join(f"\n    __set(self, {name!r}, {name})" for name in names) or "\n    pass"
    exec(f"def __init__(self, {', '.join(params)}):{body}", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    getter = attrgetter(*names) if len(names) > 1 else _one_tuple(names)
    attributes: dict[str, Any] = {
        "__init__": init,
        "__record_fields__": names,
        "__record_values__": staticmethod(getter),
        "__match_args__": names,
        "__setattr__": _setattr,
        "__delattr__": _delattr,
        "__eq__": _eq,
        "__hash__": _hash,
        "__repr__": _repr,
    }
    for key, value in attributes.items():
        setattr(cls, key, value)
    return cls


def _one_tuple(names: tuple[str, ...]) -> Any:
    """The fields of a record with fewer than two, as a tuple (``attrgetter`` of one name
    returns the value itself, of none is refused)."""

    if not names:
        return lambda obj: ()
    (name,) = names
    return lambda obj: (getattr(obj, name),)


def replace(obj: R, **changes: Any) -> R:
    """A copy of the record (or dataclass instance) ``obj`` with ``changes`` (field name
    -> value): the one ``replace`` the project calls, whichever kind ``obj`` is."""

    names: tuple[str, ...] | None = getattr(type(obj), "__record_fields__", None)
    if names is None:
        import dataclasses

        copy: R = dataclasses.replace(obj, **changes)  # type: ignore[type-var]
        return copy
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{type(obj).__qualname__} has no field(s) {', '.join(sorted(unknown))}")
    values = {name: changes[name] if name in changes else getattr(obj, name) for name in names}
    return type(obj)(**values)
