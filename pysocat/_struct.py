"""A start-up-cheap subset of ``dataclasses``: ``@dataclass`` (frozen or not) and ``field``.

``import dataclasses`` costs ~12 ms (it imports ``inspect``, ``ast``, ``dis``…)
and every decorated class another ~0.3 ms (generated code is compiled), which is
a quarter of pysocat's start-up budget. The classes on the start-up path need
only what is here: ``__init__`` from the annotated fields with defaults and
``field(default_factory=…)``, ``__repr__``, ``__eq__`` and, when frozen,
immutability and ``__hash__``. Nothing is compiled at class creation.
"""
from __future__ import annotations

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen instance (as dataclasses raises)."""


class _Field:
    __slots__ = ("default", "default_factory")

    def __init__(self, default, default_factory):
        self.default = default
        self.default_factory = default_factory


def field(*, default=_MISSING, default_factory=_MISSING):
    return _Field(default, default_factory)


def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _process(cls, frozen):
    names: list[str] = []
    defaults: dict = {}
    for base in reversed(cls.__mro__[1:]):
        for n in getattr(base, "__struct_fields__", ()):
            if n not in names:
                names.append(n)
            defaults.update(base.__struct_defaults__)
    for n, ann in cls.__dict__.get("__annotations__", {}).items():
        if isinstance(ann, str) and ann.startswith(("ClassVar", "typing.ClassVar")):
            continue
        if n not in names:
            names.append(n)
        v = cls.__dict__.get(n, _MISSING)
        if isinstance(v, _Field):
            if v.default_factory is not _MISSING:
                defaults[n] = v
                delattr(cls, n)
            elif v.default is not _MISSING:
                defaults[n] = v.default
                setattr(cls, n, v.default)
            else:
                delattr(cls, n)
                defaults.pop(n, None)
        elif v is not _MISSING:
            defaults[n] = v
        else:
            defaults.pop(n, None)
    fields = tuple(names)
    nfields = len(fields)
    setter = object.__setattr__

    def __init__(self, *args, **kw):
        if len(args) > nfields:
            raise TypeError(f"{cls.__name__}() takes {nfields} positional arguments "
                            f"but {len(args)} were given")
        for i, n in enumerate(fields):
            if i < len(args):
                if n in kw:
                    raise TypeError(f"{cls.__name__}() got multiple values for argument {n!r}")
                v = args[i]
            elif n in kw:
                v = kw.pop(n)
            else:
                try:
                    v = defaults[n]
                except KeyError:
                    raise TypeError(f"{cls.__name__}() missing required argument: {n!r}") \
                        from None
                if isinstance(v, _Field):
                    v = v.default_factory()
            setter(self, n, v)
        if kw:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument "
                            f"{next(iter(kw))!r}")
        post = getattr(self, "__post_init__", None)
        if post is not None:
            post()

    def __repr__(self):
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in fields)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in fields)

    cls.__struct_fields__ = fields
    cls.__struct_defaults__ = dict(defaults)
    cls.__match_args__ = fields
    if "__init__" not in cls.__dict__:
        cls.__init__ = __init__
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = __repr__
    if "__eq__" not in cls.__dict__:
        cls.__eq__ = __eq__
    if frozen:
        cls.__setattr__ = _frozen_setattr
        cls.__delattr__ = _frozen_delattr
        cls.__hash__ = lambda self: hash(tuple(getattr(self, n) for n in fields))
    elif "__hash__" not in cls.__dict__:
        cls.__hash__ = None
    return cls


def dataclass(cls=None, /, *, frozen: bool = False):
    """``@dataclass`` or ``@dataclass(frozen=True)``."""
    if cls is None:
        return lambda c: _process(c, frozen)
    return _process(cls, frozen)


def astuple(obj) -> tuple:
    return tuple(getattr(obj, n) for n in obj.__struct_fields__)


def replace(obj, **changes):
    kw = {n: getattr(obj, n) for n in obj.__struct_fields__}
    kw.update(changes)
    return type(obj)(**kw)
