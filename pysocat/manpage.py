"""The generated parts of man/pysocat.1, from the address and option tables.

man/pysocat.1 is hand-written roff with two regions between marker comments::

    .\\" BEGIN GENERATED address-types
    ...
    .\\" END GENERATED address-types

``make man`` (``python -m pysocat.manpage man/pysocat.1``) rewrites what lies
between the markers, as the default version profile has it (versions.DEFAULT), and leaves the rest alone; ``--check`` exits 1 when the
file is stale (tests/test_manpage.py does the same).
"""
from __future__ import annotations

import re
import sys

# one sentence per option group, for the ADDRESS OPTIONS section
GROUP_HELP = {
    "FD": "Any address that ends up as a file descriptor.",
    "FIFO": "Named pipes.",
    "CHR": "Character devices.",
    "BLK": "Block devices.",
    "REG": "Regular files.",
    "SOCKET": "Any socket.",
    "NAMED": "Addresses that name a file system entry: what happens to the entry.",
    "OPEN": "Flags of open(2), for addresses that open a file.",
    "EXEC": "The program run by EXEC and SYSTEM.",
    "FORK": "How pysocat talks to a forked program.",
    "LISTEN": "Listening sockets.",
    "CHILD": "Addresses that fork a child per connection.",
    "RETRY": "Retrying a failed connect or listen.",
    "TERMIOS": "Terminal settings.",
    "RANGE": "Which peers are accepted.",
    "PTY": "Pseudo terminals.",
    "PARENT": "The parent of a forked program.",
    "UNIX": "UNIX domain sockets.",
    "IP4": "IPv4 sockets.",
    "IP6": "IPv6 sockets.",
    "INTERFACE": "Network interfaces (TUN/TAP): their creation and flags.",
    "UDP": "UDP sockets.",
    "TCP": "TCP sockets.",
    "PROCESS": "The process itself; valid on every address.",
    "APPL": "How the relay treats this side of the transfer; valid on every address.",
}

_TYPE_VALUE = {"BOOL": "<bool>", "INT": "<int>", "INT_NULL": "<int>", "UINT": "<int>", "LONG": "<long>",
               "ULONG": "<long>", "SIZE_T": "<size>", "USHORT": "<int>", "BYTE": "<byte>",
               "STRING": "<string>", "STRING_NULL": "<string>", "MODE_T": "<mode>",
               "UID_T": "<user>", "GID_T": "<group>", "TIMEVAL": "<seconds>",
               "TIMESPEC": "<seconds>", "OFF_T": "<offset>", "OFF64_T": "<offset>",
               "CONST": ""}


def esc(text: str) -> str:
    """Text for a roff line: backslashes and hyphens escaped, no leading control char."""
    text = str(text).replace("\\", "\\e").replace("-", "\\-")
    if text[:1] in (".", "'"):
        text = "\\&" + text
    return text


def _sentence(help_text: str) -> str:
    """A row's help as a sentence; a leading call name (setsockopt(...)) keeps its case."""
    if not help_text:
        return ""
    first = help_text.split(" ", 1)[0]
    if "(" not in first and "_" not in first:
        help_text = help_text[:1].upper() + help_text[1:]
    return help_text + ("" if help_text.endswith(".") else ".")


def address_types() -> str:
    from .addresses import registry
    from .help import shown, group_list
    registry.load_all()
    out = []
    for row in sorted(registry.ROWS, key=lambda r: r.name):
        out.append(".TP")
        # \: lets groff break a long syntax (SOCKS5's) after a colon
        out.append(f"\\fB{esc(row.name.upper())}\\fP"
                   + esc(shown(row, "syntax")).replace(":", ":\\:"))
        out.append(esc(_sentence(row.help)))
        if row.aliases:
            names = ", ".join(f"\\fB{esc(a.upper())}\\fP" for a in row.aliases)
            out.append(f"Also {names}.")
        out.append(".br")
        out.append(f"Option groups: {esc(', '.join(group_list(row.groups)))}.")
        if row.since:
            out.append(".br")
            out.append(esc(f"New in socat {row.since}: unknown under --compat=1.7.4.4."))
    return "\n".join(out) + "\n"


def address_options() -> str:
    """Every option row once, under the first of its groups (in socat's group order)."""
    from .help import shown, group_list, group_names, type_name
    from .options import table
    table.load_all()
    by_group: dict[str, list] = {}
    for row in table.ROWS:
        by_group.setdefault(group_list(row.groups)[0], []).append(row)
    order = {g: i for i, g in enumerate(group_names())}
    out = []
    for group in sorted(by_group, key=lambda g: (order.get(g, 99), g)):
        out.append(f".SS {esc(group)} option group")
        out.append(esc(GROUP_HELP.get(group, f"Options of the {group} group.")))
        for row in sorted(by_group[group], key=lambda r: r.name):
            value = _TYPE_VALUE.get(row.type, f"<{row.type.lower()}>")
            out.append(".TP")
            out.append(f"\\fB{esc(row.name)}\\fP" + (f"=\\fI{esc(value)}\\fP" if value else ""))
            out.append(esc(_sentence(row.help)))
            extra = f"Type {type_name(shown(row, 'type'))}, phase {shown(row, 'phase')}"
            if len(row.groups) > 1:
                extra += f", groups {', '.join(group_list(row.groups))}"
            if row.aliases:
                extra += "; also " + ", ".join(sorted(row.aliases))
            if row.aliases18:
                extra += (f"; since socat 1.8 also {', '.join(sorted(row.aliases18))}"
                          " (unknown under --compat=1.7.4.4)")
            if row.since:
                extra += f"; new in socat {row.since} (unknown under --compat=1.7.4.4)"
            out.append(esc(extra + "."))
    return "\n".join(out) + "\n"


def name() -> str:
    from .versions import ACTIVE
    return (f"pysocat \\- relay bytes between two addresses, compatible with socat "
            f"{ACTIVE.socat_version}\n")


def profiles() -> str:
    """Which socat the page describes, and how to select the other version."""
    from .versions import ACTIVE, other_versions
    out = [f"pysocat is written in Python and behaves as socat {ACTIVE.socat_version};"]
    for v in other_versions():
        out += [f".B PYSOCAT_COMPAT={v}", "in the environment, or",
                f".B \\-\\-compat={v}", f"on the command line, selects socat {v} instead."]
    return "\n".join(out) + "\n"


GENERATORS = {"name": name, "profiles": profiles,
              "address-types": address_types, "address-options": address_options}

_REGION = re.compile(r'(^\.\\" BEGIN GENERATED ([\w-]+)\n)(.*?)(^\.\\" END GENERATED \2\n)',
                     re.M | re.S)


def render(text: str) -> str:
    """``text`` with every generated region filled from the tables."""
    from .versions import DEFAULT, using

    def fill(m):
        return m.group(1) + GENERATORS[m.group(2)]() + m.group(4)
    with using(DEFAULT):         # the page describes the default version
        return _REGION.sub(fill, text)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    paths = [a for a in args if a != "--check"] or ["man/pysocat.1"]
    status = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            old = f.read()
        new = render(old)
        if check:
            if new != old:
                sys.stderr.write(f"{path}: generated sections are stale; run make man\n")
                status = 1
        elif new != old:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
    return status


if __name__ == "__main__":
    sys.exit(main())
