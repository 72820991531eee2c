"""Option value parsers, one per socat value type, with socat's error texts.

Numbers parse like C's strtoul(…, 0): ``0x`` hex, leading ``0`` octal, an
optional sign; a missing number or trailing characters are errors quoting
the option as written (``sp=x``).
"""
from __future__ import annotations

from ..errors import OptionError

# compiled on first use: importing re costs start-up time most runs never need
_PATTERNS = {
    "_NUM": (r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", 0),
    "_NUM8": (r"\s*([+-]?)([0-7]+)", 0),
    "_FLOAT": (r"\s*[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf|nan)", 2),
}


def _pat(name: str):
    pat = globals().get(name)
    if pat is None:
        import re
        text, flags = _PATTERNS[name]
        pat = globals()[name] = re.compile(text, flags)   # 2 = re.IGNORECASE
    return pat


def __getattr__(name: str):
    if name in _PATTERNS:
        return _pat(name)
    raise AttributeError(name)

ULONG_MAX = 2**64 - 1


def strtoul(text: str, base: int = 0) -> tuple[int | None, str]:
    """C strtoul: (value or None when no digits, rest of the string)."""
    m = _pat("_NUM8" if base == 8 else "_NUM").match(text)
    if not m:
        return None, text
    sign, digits = m.groups()
    if base == 8:
        val = int(digits, 8)
    elif digits[:2] in ("0x", "0X"):
        val = int(digits, 16)
    elif digits.startswith("0") and len(digits) > 1:
        val = int(digits, 8)
    else:
        val = int(digits)
    if val > ULONG_MAX:
        val = ULONG_MAX
    if sign == "-":
        val = (-val) & ULONG_MAX
    return val, text[m.end():]


def number(text: str, raw: str, base: int = 0) -> int:
    """socat's Strtoul(): errors for a missing value or trailing garbage."""
    val, rest = strtoul(text, base)
    if val is None:
        raise OptionError(f'parseopts(): missing numerical value of option "{raw}"')
    if rest:
        raise OptionError(f'parseopts(): trailing garbage in numerical arg of option "{raw}"')
    return val


def _c_int(v: int, bits: int = 32, signed: bool = True) -> int:
    """Truncate like a C assignment to an int of that width."""
    v &= (1 << bits) - 1
    if signed and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def parse_value(vtype: str, value: str | None, raw: str, name: str):
    """Turn an option's text into its typed value, socat-style."""
    if vtype == "INT_NULL":     # 1.8's TYPE_INT_NULL: "name=" is NULL (None)
        from ..versions import ACTIVE
        if value == "" and ACTIVE.reuseaddr_int_null:
            return None
        vtype = "INT"
    if vtype == "CONST":
        if value is not None:
            raise OptionError(f'no value permitted for option "{name}"')
        return True
    if vtype in ("BOOL", "INT", "UINT", "LONG", "ULONG", "SIZE_T", "USHORT", "BYTE",
                 "OFF_T", "OFF64_T"):
        if value is None:
            return 1
        n = number(value, raw)
        if vtype == "BYTE":
            if n > 255:
                raise OptionError(
                    f'parseopts(): option "{raw}": byte value exceeds limit ({n} vs. 255), using max')
            return n
        if vtype in ("INT", "BOOL"):
            return _c_int(n)
        if vtype == "UINT":
            return _c_int(n, 32, False)
        if vtype == "USHORT":
            return _c_int(n, 16, False)
        return n
    if vtype in ("STRING", "MODE_T", "UID_T", "GID_T", "TIMEVAL", "TIMESPEC"):
        if value is None:
            raise OptionError(f'option "{raw}": value required')
        if vtype == "STRING":
            return value
        if vtype == "MODE_T":
            return number(value, raw, 8)
        if vtype == "UID_T":
            return _user(value, raw)
        if vtype == "GID_T":
            return _group(value, raw)
        return _seconds(value, raw)
    if vtype == "STRING_NULL":
        return value
    if vtype == "LINGER":
        if value is None:
            raise OptionError(f'option "{raw}": value required')
        return number(value, raw)
    if vtype == "BIN":
        if value is None:
            raise OptionError(f'option "{raw}": value required')
        from .dalan import dalan
        rc, data = dalan(value, 1024)
        if rc != 0:
            raise OptionError(f'parseopts_table(): problem with "{value}" data')
        return data
    if vtype in ("INT:INT:INT", "INT:INT:BIN", "INT:INT:STRING"):
        return _int_int_x(vtype, value, raw, name)
    if vtype == "INT3":     # socat's TYPE_INT3 (so-peercred): its parser has no case
        from ..versions import ACTIVE
        raise OptionError(f'parseopts_table(): internal error on option "{name}": '
                          f'unimplemented type {ACTIVE.int3_type_number}')
    parser = VALUE_PARSERS.get(vtype)
    if parser is not None:
        return parser(value, raw, name)
    raise AssertionError(f"unknown option value type {vtype}")


# value types an option module defines itself: vtype -> parser(value, raw, name)
VALUE_PARSERS: dict = {}


def _seconds(value: str, raw: str) -> float:
    m = _pat("_FLOAT").match(value)
    if not m:
        raise OptionError(f'parseopts(): missing numerical value of option "{raw}"')
    if value[m.end():]:
        raise OptionError(f'parseopts(): trailing garbage in numerical arg of option "{raw}"')
    return float(value[:m.end()])


def _user(value: str, raw: str) -> int:
    if value[:1].isdigit():
        return number(value, raw)
    import pwd
    try:
        return pwd.getpwnam(value).pw_uid
    except KeyError:
        raise OptionError(f'getpwnam("{value}"): no such user') from None


def _group(value: str, raw: str) -> int:
    if value[:1].isdigit():
        return number(value, raw)
    import grp
    try:
        return grp.getgrnam(value).gr_gid
    except KeyError:
        raise OptionError(f'getgrnam("{value}"): no such group') from None


def _int_int_x(vtype: str, value, raw: str, name: str):
    """socat's TYPE_INT_INT_INT/_BIN/_STRING: ``level:optname:value``."""
    if value is None:
        raise OptionError(f'option "{raw}": values required')
    three = (f'option "{name}": 3 arguments required' if vtype == "INT:INT:BIN"
             else f'parseopts(): option "{name}": 3 arguments required')
    rest = value
    nums = []
    for which in ("1st", "2nd"):
        val, after = strtoul(rest, 0)
        if val is None:
            raise OptionError(f'parseopts(): missing numerical value of option "{raw}"')
        if after == "":
            raise OptionError(three)
        if after[0] != ":":
            raise OptionError(f'parseopts(): trailing garbage in {which} numerical arg of option "{raw}"')
        nums.append(_c_int(val))
        rest = after[1:]
    if vtype == "INT:INT:INT":
        third = _c_int(number(rest, raw))
    elif vtype == "INT:INT:BIN":
        from .dalan import dalan
        rc, third = dalan(rest, 1024)
        if rc != 0:
            raise OptionError(f'parseopts_table(): problem with "{rest}" data')
    else:
        third = rest
    return (nums[0], nums[1], third)


def int_pair(value, raw: str, name: str):
    """socat's TYPE_INT_INT / TYPE_INT_INTP / TYPE_INT_ULONG: ``<n>:<m>`` (the
    separator is skipped; the first is an unsigned int, the second a number)."""
    if value is None:
        raise OptionError(f'option "{raw}": values required')
    first, rest = strtoul(value, 0)
    if first is None:
        raise OptionError(f'parseopts(): missing numerical value of option "{raw}"')
    if rest == "":
        raise OptionError(f'parseopts(): option "{name}": 2 arguments required')
    return (first & 0xFFFFFFFF, number(rest[1:], raw))
