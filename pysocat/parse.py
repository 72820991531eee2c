"""Address strings → spec objects, exactly where socat 1.7.4.4 splits them.

The grammar (grammar/socat.lark) is the definition. Building a lark parser costs
more than the rest of start-up, so strings without quotes, brackets or
backslashes take a plain ``str.split`` path that yields the identical result
(tests/test_grammar.py proves the two agree); lark is imported only when needed.
"""
from __future__ import annotations

import os

from .errors import AddressSyntaxError
from .spec import AddressSpec, DualSpec, OptionSpec, Spec

_SPECIAL = frozenset("'\"\\([{")
_C_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "f": "\f", "n": "\n",
              "r": "\r", "t": "\t", "v": "\v"}

_parser = None


def parse(text: str) -> Spec:
    """Parse one command-line address (single or ``a!!b``)."""
    if _SPECIAL.isdisjoint(text):
        return _parse_plain(text)
    return parse_with_grammar(text)


def _split_option(item: str) -> OptionSpec:
    name, eq, value = item.partition("=")
    return OptionSpec(name, value if eq else None, item)


def _single_plain(text: str) -> AddressSpec:
    first, *opts = text.split(",")
    head, *params = first.split(":")
    return AddressSpec(head, tuple(params),
                       tuple(_split_option(o) for o in opts if o), text)


def _parse_plain(text: str) -> Spec:
    parts = text.split("!!")
    if len(parts) == 1:
        return _single_plain(text)
    # socat ignores whatever follows a second "!!"
    return DualSpec(_single_plain(parts[0]), _single_plain(parts[1]), text)


# ---------------------------------------------------------------- lark path

def _grammar_path() -> str:
    return os.path.join(os.path.dirname(__file__), "grammar", "socat.lark")


def get_parser():
    """The lark LALR parser for the address grammar (built once, cached)."""
    global _parser
    if _parser is None:
        from lark import Lark
        with open(_grammar_path(), encoding="utf-8") as f:
            _parser = Lark(f.read(), parser="lalr", lexer="basic",
                           propagate_positions=True, maybe_placeholders=False)
    return _parser


def _unescape(s: str) -> str:
    """Resolve backslash escapes (C escapes like socat's nestlex)."""
    if "\\" not in s:
        return s
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s):
                break
            nxt = s[i + 1]
            out.append(_C_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _is_sep(c) -> bool:
    from lark import Token
    return isinstance(c, Token) and c.type in ("COLON", "COMMA", "EQ", "BANG2")


def _build_transformer():
    from lark import Transformer, v_args

    @v_args(inline=True)
    class ToSpec(Transformer):
        def plain(self, tok):
            return str(tok)

        def escape(self, tok):
            return _unescape(str(tok))

        def hquoted(self, tok):
            return _unescape(str(tok)[1:-1])

        def kept(self, tok):
            return "'" + _unescape(str(tok)[1:-1]) + "'"

        def squoted(self, _open, *rest):
            return "".join(rest[:-1])

        def inner_squoted(self, _open, *rest):
            return '"' + "".join(rest[:-1]) + '"'

        def nest(self, *parts):
            return "".join(str(p) for p in parts)

        def head(self, *pieces):
            return "".join(pieces)

        param = key = value = head

        @v_args(inline=False, meta=True)
        def option(self, meta, children):
            children = [c for c in children if not _is_sep(c)]
            name = children[0]
            value = children[1] if len(children) > 1 else None
            return OptionSpec(name, value, "")

        @v_args(inline=False, meta=True)
        def single(self, meta, children):
            children = [c for c in children if not _is_sep(c)]
            head, rest = children[0], children[1:]
            params = tuple(c for c in rest if isinstance(c, str))
            opts = tuple(c for c in rest if isinstance(c, OptionSpec)
                         and (c.name or c.value is not None))
            span = (meta.start_pos, meta.end_pos) if not meta.empty else (0, 0)
            return (head, params, opts, span)

        def start(self, *singles):
            return tuple(s for s in singles if not _is_sep(s))

    return ToSpec()


_transformer = None


def parse_with_grammar(text: str) -> Spec:
    """Parse through lark; raise AddressSyntaxError with socat's text."""
    global _transformer
    from lark.exceptions import UnexpectedInput
    parser = get_parser()
    if _transformer is None:
        _transformer = _build_transformer()
    try:
        tree = parser.parse(text)
    except UnexpectedInput as exc:
        pos = getattr(exc, "pos_in_stream", None)
        raise AddressSyntaxError(f'unexpected end of address "{text}"',
                                 position=pos) from None
    singles = _transformer.transform(tree)
    raws = _raw_texts(text, len(singles))
    specs = []
    for (head, params, opts, _span), raw in zip(singles, raws):
        opts = tuple(OptionSpec(o.name, o.value, _option_raw(o)) for o in opts)
        specs.append(AddressSpec(head, params, opts, raw))
    if len(specs) == 1:
        return specs[0]
    return DualSpec(specs[0], specs[1], text)


def _option_raw(o: OptionSpec) -> str:
    return o.name if o.value is None else f"{o.name}={o.value}"


def _raw_texts(text: str, n: int) -> list[str]:
    """Split the original text at the unquoted, unnested ``!!``."""
    if n == 1:
        return [text]
    depth_stack: list[str] = []
    closers = {"(": ")", "[": "]", "{": "}"}
    i = 0
    quote = None
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in closers:
            depth_stack.append(closers[c])
        elif depth_stack and c == depth_stack[-1]:
            depth_stack.pop()
        elif not depth_stack and text.startswith("!!", i):
            return [text[:i], text[i + 2:]]
        i += 1
    return [text, ""]
