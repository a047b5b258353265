"""Hostile records at the wire boundary: ``decode_command`` over random, truncated, mutated and
deeply nested input (key, value and headers together) ends in a command or a typed rejection,
quickly; and nothing in the package can unpickle.

The payload decoder has its own fuzz test (``test_protocols_limits``); this one targets the
envelope decoder ingress calls on every record, with keys and headers as an attacker sends them.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import repertory
from repertory.errors import InputRejected, ProtocolError
from repertory.protocols import (
    REJECTION_REASONS,
    CommandEnvelope,
    InputLimits,
    decode_command,
    encode_command,
)

pytestmark = pytest.mark.unit

GOOD = CommandEnvelope(
    command_id="c-1",
    entity_type="account",
    entity_id="42",
    message_type="Deposit",
    schema_version=1,
    timestamp_ms=1_700_000_000_000,
    payload=msgpack.packb({"amount": 5}),
    reply_to="repertory.replies",
)
VALUE = encode_command(GOOD)
KEY = GOOD.key()
RAW: dict[str, Any] = msgpack.unpackb(VALUE)
TIGHT = InputLimits(
    max_bytes=4096,
    max_depth=8,
    max_str_len=256,
    max_bin_len=1024,
    max_array_len=64,
    max_map_len=32,
)
PER_EXAMPLE_SECONDS = 0.5

leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.binary(max_size=20)
)
msgpack_objects = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


def nested(opener: bytes, depth: int) -> bytes:
    return opener * depth + b"\xc0"


values = st.one_of(
    st.binary(max_size=400),
    st.integers(0, len(VALUE)).map(lambda n: VALUE[:n]),
    st.lists(st.tuples(st.integers(0, len(VALUE) - 1), st.integers(0, 255)), max_size=4).map(
        lambda edits: _mutate(VALUE, edits)
    ),
    # Deeply nested arrays and maps, alone and as the value of an envelope field.
    st.tuples(
        st.sampled_from([b"\x91", b"\x81\xa1k", b"\xdc\x00\x01", b"\x81\xc0"]), st.integers(1, 3000)
    ).map(lambda spec: nested(*spec)),
    st.tuples(st.sampled_from(sorted(RAW)), st.integers(1, 3000)).map(
        lambda spec: _with_raw_field(spec[0], nested(b"\x91", spec[1]))
    ),
    # Headers announcing far more than is there: nothing may be allocated up front.
    st.sampled_from(
        [
            b"\xdd\xff\xff\xff\xff",
            b"\xdf\xff\xff\xff\xff",
            b"\xdb\xff\xff\xff\xff",
            b"\xc6\xff\xff\xff\xff",
            b"\xc9\xff\xff\xff\xff\x01",
        ]
    ),
    # Well-formed msgpack with wrong or surplus fields.
    st.dictionaries(st.sampled_from([*RAW, "extra"]), msgpack_objects, max_size=12).map(
        lambda fields: msgpack.packb({**RAW, **fields}, use_bin_type=True)
    ),
    msgpack_objects.map(lambda obj: msgpack.packb(obj, use_bin_type=True)),
)
keys = st.one_of(st.none(), st.just(KEY), st.binary(max_size=40), st.just(KEY + b"\x00"))
header_names = st.sampled_from(
    ["command_id", "entity_type", "entity_id", "message_type", "schema_version", "reply_to", "x"]
)
headers = st.none() | st.lists(
    st.tuples(
        header_names,
        st.none() | st.binary(max_size=20) | st.sampled_from(GOOD.headers()).map(lambda h: h[1]),
    ),
    max_size=6,
)


def _mutate(value: bytes, edits: list[tuple[int, int]]) -> bytes:
    data = bytearray(value)
    for index, byte in edits:
        data[index] = byte
    return bytes(data)


def _with_raw_field(name: str, packed: bytes) -> bytes:
    # Splice raw msgpack in as one field's value, past what msgpack.packb would build.
    others = {k: v for k, v in RAW.items() if k != name}
    head: bytes = msgpack.packb(others, use_bin_type=True)
    count = len(others) + 1
    field: bytes = msgpack.packb(name)
    return bytes([0x80 | count]) + head[1:] + field + packed


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=keys, value=values, record_headers=headers, tight=st.booleans())
def test_any_record_ends_in_a_command_or_a_typed_rejection(
    key: bytes | None,
    value: bytes,
    record_headers: list[tuple[str, bytes | None]] | None,
    tight: bool,
) -> None:
    limits = TIGHT if tight else InputLimits()
    started = time.perf_counter()
    try:
        envelope = decode_command(key, value, record_headers, limits=limits)
    except InputRejected as exc:
        assert exc.reason in REJECTION_REASONS | {"key_mismatch", "header_mismatch"}
        assert exc.detail
    except ProtocolError:
        pass  # typed, and not an InputRejected: still a refusal ingress dead-letters
    else:
        assert isinstance(envelope, CommandEnvelope)
        assert key == envelope.key()
        assert len(value) <= limits.max_bytes
        assert len(envelope.payload) <= limits.max_bin_len
    assert time.perf_counter() - started < PER_EXAMPLE_SECONDS


def test_the_good_record_decodes_and_every_prefix_is_refused() -> None:
    assert decode_command(KEY, VALUE, GOOD.headers()) == GOOD
    for end in range(len(VALUE)):
        with pytest.raises(InputRejected):
            decode_command(KEY, VALUE[:end], GOOD.headers())


def test_a_record_far_over_the_size_limit_is_refused_before_decoding() -> None:
    huge = b"\x91" * (TIGHT.max_bytes * 50)
    started = time.perf_counter()
    with pytest.raises(InputRejected) as caught:
        decode_command(KEY, huge, limits=TIGHT)
    assert caught.value.reason == "too_large"
    assert time.perf_counter() - started < PER_EXAMPLE_SECONDS


UNPICKLERS = {"pickle", "cPickle", "_pickle", "cloudpickle", "dill", "shelve", "jsonpickle"}


def test_no_module_of_the_package_imports_pickle() -> None:
    """No pickle at our wire or storage boundary. (Thespian pickles messages between its own
    worker processes, on loopback, inside the library; no Kafka or journal byte reaches it.)"""
    root = Path(repertory.__file__).parent
    sources = sorted(root.rglob("*.py"))
    offenders = []
    for source in sources:
        tree = ast.parse(source.read_text("utf-8"), str(source))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("__import__", "import_module")
                and node.args
            ):
                names = [ast.unparse(node.args[0]).strip("'\"")]
            offenders += [
                f"{source.relative_to(root)}:{getattr(node, 'lineno', 0)} {name}"
                for name in names
                if name.split(".")[0] in UNPICKLERS
            ]
    assert len(sources) > 50  # the walk saw the package
    assert not offenders, offenders
