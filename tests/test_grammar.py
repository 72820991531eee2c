"""The address grammar splits exactly where socat 1.7.4.4's nestlex() splits."""
import pytest
import os as _os

from hypothesis import given, settings, strategies as st

from pysocat.errors import AddressSyntaxError
from pysocat.parse import _parse_plain, parse, parse_with_grammar
from pysocat.spec import AddressSpec, DualSpec

FUZZ = 50 if _os.environ.get("PYSOCAT_FUZZ") else 1  # make fuzz: 50x the examples


def single(text):
    spec = parse(text)
    assert isinstance(spec, AddressSpec)
    return spec


@pytest.mark.parametrize("text,head,params", [
    ("TCP6:[::1]:80", "TCP6", ("[::1]", "80")),
    ("EXEC:'cat -u',pty", "EXEC", ("cat -u",)),
    ('SYSTEM:"echo a,b; cat"', "SYSTEM", ("echo a,b; cat",)),
    ("TUN:172.30.0.1/16,iff-up", "TUN", ("172.30.0.1/16",)),
    ("x\\:y:z", "x:y", ("z",)),
    ("exec:echo\\nx", "exec", ("echo\nx",)),
    ('SYSTEM:"echo (a,b) \'q,r\'"', "SYSTEM", ("echo (a,b) 'q,r'",)),
    ("SYSTEM:(a:b,c)", "SYSTEM", ("(a:b,c)",)),
    ("SYSTEM:{a:b}x:y", "SYSTEM", ("{a:b}x", "y")),
    ("a)b:c!d", "a)b", ("c!d",)),
    ("", "", ()),
])
def test_split(text, head, params):
    spec = single(text)
    assert (spec.head, spec.params) == (head, params)
    assert spec.raw == text


def test_options_and_values():
    spec = single("UDP-DATAGRAM:10.0.0.2:9090,bind=10.0.0.1:9090:9090,,iff-up")
    assert [(o.name, o.value) for o in spec.options] == [
        ("bind", "10.0.0.1:9090:9090"), ("iff-up", None)]
    spec = single("-,foo:bar=a=b,'x,y'=\"1,2\"")
    assert [(o.name, o.value) for o in spec.options] == [("foo:bar", "a=b"), ("x,y", "1,2")]


def test_dual():
    spec = parse("OPEN:/tmp/a!!EXEC:'cat -u'")
    assert isinstance(spec, DualSpec)
    assert spec.read.head == "OPEN" and spec.read.params == ("/tmp/a",)
    assert spec.write.params == ("cat -u",)
    assert spec.read.raw == "OPEN:/tmp/a" and spec.write.raw == "EXEC:'cat -u'"
    spec = parse("a!!!b")
    assert (spec.read.head, spec.write.head) == ("a", "!b")
    # inside quotes or brackets !! does not split
    assert isinstance(parse("SYSTEM:'a!!b'"), AddressSpec)
    assert isinstance(parse("SYSTEM:(a!!b)"), AddressSpec)


def test_unterminated_soft_quote_is_an_error():
    with pytest.raises(AddressSyntaxError) as e:
        parse('SYSTEM:"echo')
    assert e.value.text == 'unexpected end of address "SYSTEM:"echo"'


plain_text = st.text(alphabet=st.sampled_from(list("ab:,=!-/.19")), max_size=30)


@settings(max_examples=300 * FUZZ, deadline=None)
@given(plain_text)
def test_fast_path_equals_grammar(text):
    """The str.split path and the lark grammar agree on every plain string."""
    if text.count("!!") > 1 or "!!!!" in text:
        return
    assert _parse_plain(text) == parse_with_grammar(text)


any_text = st.text(alphabet=st.sampled_from(list("ab:,=!'\"\\()[]{} ")), max_size=30)


@settings(max_examples=300 * FUZZ, deadline=None)
@given(any_text)
def test_never_crashes(text):
    try:
        parse(text)
    except AddressSyntaxError as e:
        assert e.text.startswith("unexpected end of address")
