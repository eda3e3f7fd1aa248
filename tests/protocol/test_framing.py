"""Framing: byte-exact vectors (spec §1.1, §1.6, §8.1, §8.3) and a fuzzed incremental decoder."""

from __future__ import annotations

import importlib
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from virtwire.protocol import constants
from virtwire.protocol.constants import FRAME_MIN, LENGTH_SIZE
from virtwire.protocol.framing import (
    Frame,
    FrameDecoder,
    Header,
    LocalProtocolError,
    MessageStatus,
    MessageType,
    ProtocolError,
    RemoteProtocolError,
    decode_stream_hole,
    encode_call,
    encode_frame,
    encode_stream_hole,
)


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def generated_virnetprotocol():
    """The generated codec module; skip (only) when it has not been generated yet."""
    try:
        return importlib.import_module("virtwire.protocol.generated.virnetprotocol")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("virtwire.protocol.generated"):
            pytest.skip("virtwire.protocol.generated.virnetprotocol not generated yet")
        raise


TEST_PROG = 0x11223344

# §1.1 / §8.1 "Message Header Encode"
HEADER_ENCODE = h("0000001c 11223344 00000001 00000666 00000000 00000099 00000000")
# §8.1 "Message Header Decode"
HEADER_DECODE = h("0000001c 11223344 00000001 00000666 00000001 00000099 00000001")
# §1.6 / §8.1 "Message Payload Encode": the 116-byte error message
ERROR_MESSAGE = h(
    """
    00000074 11223344 00000001 00000666 00000002 00000099 00000001
    00000001 00000007 00000001 0000000b 48656c6c 6f20576f 726c6400
    00000002 00000000 00000001 00000003 4f6e6500 00000001 00000003
    54776f00 00000001 00000005 54687265 65000000 00000001 00000002
    00000000
    """
)
# §8.1 "Message Payload Stream Encode": raw data, no XDR padding
FOX = b"The quick brown fox jumps over the lazy dog"
STREAM_MESSAGE = h("00000047 11223344 00000001 00000666 00000003 00000099 00000002") + FOX


def test_header_encode_vector() -> None:
    header = Header(TEST_PROG, 1, 0x666, MessageType.CALL, 0x99, MessageStatus.OK)
    assert encode_frame(header) == HEADER_ENCODE


def test_header_decode_vector() -> None:
    (frame,) = FrameDecoder().feed(HEADER_DECODE)
    assert frame.header == Header(TEST_PROG, 1, 0x666, MessageType.REPLY, 0x99, MessageStatus.ERROR)
    assert frame.header.type is MessageType.REPLY
    assert frame.header.status is MessageStatus.ERROR
    assert frame.payload == b""
    assert frame.nfds == 0


def test_stream_frame_is_raw_and_unpadded() -> None:
    header = Header(TEST_PROG, 1, 0x666, MessageType.STREAM, 0x99, MessageStatus.CONTINUE)
    assert len(FOX) == 43
    assert encode_frame(header, FOX) == STREAM_MESSAGE
    assert len(STREAM_MESSAGE) == 0x47
    (frame,) = FrameDecoder().feed(STREAM_MESSAGE)
    assert frame == Frame(header, FOX)


def test_error_message_header_and_payload_split() -> None:
    (frame,) = FrameDecoder().feed(ERROR_MESSAGE)
    assert frame.header == Header(
        TEST_PROG, 1, 0x666, MessageType.MESSAGE, 0x99, MessageStatus.ERROR
    )
    assert frame.payload == ERROR_MESSAGE[28:]
    assert len(frame.payload) == 116 - 28
    assert encode_frame(frame.header, frame.payload) == ERROR_MESSAGE


def test_error_message_with_generated_codec() -> None:
    """§8.1 "Message Payload Encode/Decode" through framing and the generated codec."""
    vnp = generated_virnetprotocol()
    err = vnp.VirNetMessageError(
        code=1,
        domain=7,
        message="Hello World",
        level=2,
        dom=None,
        str1="One",
        str2="Two",
        str3="Three",
        int1=1,
        int2=2,
        net=None,
    )
    header = Header(TEST_PROG, 1, 0x666, MessageType.MESSAGE, 0x99, MessageStatus.ERROR)
    assert encode_frame(header, vnp.pack_virNetMessageError(err)) == ERROR_MESSAGE
    (frame,) = FrameDecoder().feed(ERROR_MESSAGE)
    assert vnp.unpack_virNetMessageError(frame.payload) == err


def test_hand_coded_header_matches_generated_codec() -> None:
    vnp = generated_virnetprotocol()
    samples = [
        (TEST_PROG, 1, 0x666, 0, 0x99, 0),
        (constants.REMOTE_PROGRAM, 1, 66, 1, 0, 1),
        (constants.KEEPALIVE_PROGRAM, 1, 1, 2, 0, 0),
        (0xFFFFFFFF, 0xFFFFFFFF, -1, 6, 0xFFFFFFFF, 2),
        (0, 0, -(2**31), 5, 7, 2),
    ]
    for prog, vers, proc, mtype, serial, status in samples:
        ours = Header(prog, vers, proc, MessageType(mtype), serial, MessageStatus(status))
        theirs = vnp.VirNetMessageHeader(
            prog=prog,
            vers=vers,
            proc=proc,
            type=vnp.VirNetMessageType(mtype),
            serial=serial,
            status=vnp.VirNetMessageStatus(status),
        )
        nfds_word = b"\x00\x00\x00\x00" if mtype in (4, 5) else b""
        assert encode_frame(ours)[4:] == vnp.pack_virNetMessageHeader(theirs) + nfds_word
        decoded = vnp.unpack_virNetMessageHeader(encode_frame(ours)[4:28])
        assert decoded == theirs


def test_constants_agree_with_defs() -> None:
    vnp = generated_virnetprotocol()
    assert vnp.VIR_NET_MESSAGE_MAX == constants.MESSAGE_MAX
    assert vnp.VIR_NET_MESSAGE_HEADER_MAX == constants.HEADER_SIZE
    assert vnp.VIR_NET_MESSAGE_LEN_MAX == constants.LENGTH_SIZE
    assert vnp.VIR_NET_MESSAGE_STRING_MAX == constants.STRING_MAX
    assert vnp.VIR_NET_MESSAGE_NUM_FDS_MAX == constants.NUM_FDS_MAX
    assert vnp.VIR_NET_MESSAGE_PAYLOAD_MAX == constants.PAYLOAD_MAX
    assert vnp.VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX == constants.LEGACY_PAYLOAD_MAX
    assert vnp.VIR_NET_MESSAGE_INITIAL == constants.MESSAGE_INITIAL
    assert {m.name: int(m) for m in vnp.VirNetMessageType} == {
        "VIR_NET_" + m.name: int(m) for m in MessageType
    }
    assert {m.name: int(m) for m in vnp.VirNetMessageStatus} == {
        "VIR_NET_" + m.name: int(m) for m in MessageStatus
    }


def test_stream_hole_payload() -> None:
    payload = encode_stream_hole(2**40 + 5, 1)
    assert payload == h("00000100 00000005 00000001")
    assert decode_stream_hole(payload) == (2**40 + 5, 1)
    with pytest.raises(RemoteProtocolError):
        decode_stream_hole(payload[:-1])
    with pytest.raises(LocalProtocolError):
        encode_stream_hole(2**63, 0)


# --- captured frames (§8.3) ---------------------------------------------------------------

REMOTE = constants.REMOTE_PROGRAM

CAPTURED = [
    # AUTH_LIST call, serial 0
    (
        h("0000001c 20008086 00000001 00000042 00000000 00000000 00000000"),
        Header(REMOTE, 1, 66, MessageType.CALL, 0, MessageStatus.OK),
        b"",
    ),
    # AUTH_LIST reply: one type, REMOTE_AUTH_NONE
    (
        h("00000024 20008086 00000001 00000042 00000001 00000000 00000000 00000001 00000000"),
        Header(REMOTE, 1, 66, MessageType.REPLY, 0, MessageStatus.OK),
        h("00000001 00000000"),
    ),
    # SUPPORTS_FEATURE(10) call, serial 1
    (
        h("00000020 20008086 00000001 0000003c 00000000 00000001 00000000 0000000a"),
        Header(REMOTE, 1, 60, MessageType.CALL, 1, MessageStatus.OK),
        h("0000000a"),
    ),
    # CONNECT_OPEN "test:///default", flags 6, serial 2
    (
        h("00000038 20008086 00000001 00000001 00000000 00000002 00000000")
        + h("00000001 0000000f 74657374 3a2f2f2f 64656661 756c7400 00000006"),
        Header(REMOTE, 1, 1, MessageType.CALL, 2, MessageStatus.OK),
        h("00000001 0000000f 74657374 3a2f2f2f 64656661 756c7400 00000006"),
    ),
    # LOOKUP_BY_NAME "nosuch" error reply (§1.6), serial 20
    (
        h(
            """
            00000070 20008086 00000001 00000017 00000001 00000014 00000001
            0000002a 0000000c 00000001 00000010 446f6d61 696e206e 6f742066 6f756e64
            00000002 00000000 00000001 00000010 446f6d61 696e206e 6f742066 6f756e64
            00000000 00000000 ffffffff ffffffff 00000000
            """
        ),
        Header(REMOTE, 1, 23, MessageType.REPLY, 20, MessageStatus.ERROR),
        None,
    ),
    # keepalive PING / PONG (§2)
    (
        h("0000001c 6b656570 00000001 00000001 00000002 00000000 00000000"),
        Header(constants.KEEPALIVE_PROGRAM, 1, 1, MessageType.MESSAGE, 0, MessageStatus.OK),
        b"",
    ),
    (
        h("0000001c 6b656570 00000001 00000002 00000002 00000000 00000000"),
        Header(constants.KEEPALIVE_PROGRAM, 1, 2, MessageType.MESSAGE, 0, MessageStatus.OK),
        b"",
    ),
]


@pytest.mark.parametrize("wire,header,payload", CAPTURED)
def test_captured_frames_round_trip(wire: bytes, header: Header, payload: bytes | None) -> None:
    (frame,) = FrameDecoder().feed(wire)
    assert frame.header == header
    if payload is not None:
        assert frame.payload == payload
    assert len(frame.payload) == len(wire) - 28
    assert encode_frame(frame.header, frame.payload) == wire


def test_captured_stream_of_frames_any_split() -> None:
    stream = b"".join(wire for wire, _, _ in CAPTURED)
    expected = FrameDecoder().feed(stream)
    assert [f.header for f in expected] == [hd for _, hd, _ in CAPTURED]
    for cut in range(len(stream) + 1):
        dec = FrameDecoder()
        assert dec.feed(stream[:cut]) + dec.feed(stream[cut:]) == expected
        assert dec.buffered == 0
    dec = FrameDecoder()
    got: list[Frame] = []
    for i in range(len(stream)):
        got += dec.feed(stream[i : i + 1])
    assert got == expected


def test_accepts_bytearray_and_memoryview() -> None:
    stream = HEADER_ENCODE + STREAM_MESSAGE
    expected = FrameDecoder().feed(stream)
    assert FrameDecoder().feed(bytearray(stream)) == expected
    assert FrameDecoder().feed(memoryview(stream)) == expected
    dec = FrameDecoder()
    assert dec.feed(memoryview(stream)[:30]) + dec.feed(bytearray(stream[30:])) == expected
    assert all(type(f.payload) is bytes for f in expected)


# --- validation order and limits ----------------------------------------------------------


@pytest.mark.parametrize("length", [0, 3, 4, 27])
def test_length_below_a_header_is_rejected_from_the_length_word_alone(length: int) -> None:
    dec = FrameDecoder()
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(struct.pack(">I", length))
    assert info.value.remote is True
    assert isinstance(info.value, ProtocolError)


def test_oversize_length_is_rejected_before_the_body_arrives() -> None:
    dec = FrameDecoder()
    assert dec.feed(struct.pack(">I", constants.MESSAGE_MAX + 4)) == []  # largest legal
    assert dec.buffered == 4
    dec = FrameDecoder()
    with pytest.raises(RemoteProtocolError, match="too large"):
        dec.feed(struct.pack(">I", constants.MESSAGE_MAX + 5))
    # split length word: still rejected as soon as the 4th byte arrives
    dec = FrameDecoder()
    word = struct.pack(">I", 0xFFFFFFFF)
    assert dec.feed(word[:3]) == []
    with pytest.raises(RemoteProtocolError):
        dec.feed(word[3:])


def test_custom_max_message() -> None:
    dec = FrameDecoder(max_message=100)
    assert dec.feed(struct.pack(">I", 104)) == []
    with pytest.raises(RemoteProtocolError):
        FrameDecoder(max_message=100).feed(struct.pack(">I", 105))


def test_frames_before_an_error_are_kept_and_decoder_stays_failed() -> None:
    dec = FrameDecoder()
    with pytest.raises(RemoteProtocolError) as info:
        dec.feed(HEADER_ENCODE + HEADER_DECODE + b"\x00\x00\x00\x05")
    assert [f.header.type for f in info.value.frames] == [MessageType.CALL, MessageType.REPLY]
    with pytest.raises(RemoteProtocolError):
        dec.feed(HEADER_ENCODE)


def test_with_fds_count_is_stripped() -> None:
    header = Header(REMOTE, 1, 7, MessageType.CALL_WITH_FDS, 3, MessageStatus.OK)
    wire = encode_frame(header, b"\x00\x00\x00\x2a", nfds=2)
    assert wire == h(
        "00000024 20008086 00000001 00000007 00000004 00000003 00000000 00000002 0000002a"
    )
    (frame,) = FrameDecoder().feed(wire)
    assert frame == Frame(header, b"\x00\x00\x00\x2a", 2)
    reply = Header(REMOTE, 1, 7, MessageType.REPLY_WITH_FDS, 3, MessageStatus.OK)
    (frame,) = FrameDecoder().feed(encode_frame(reply, nfds=32))
    assert frame.nfds == 32 and frame.payload == b""


def test_with_fds_limits() -> None:
    too_many = h("00000020 20008086 00000001 00000007 00000004 00000003 00000000 00000021")
    with pytest.raises(RemoteProtocolError, match="file descriptors"):
        FrameDecoder().feed(too_many)
    no_count = h("0000001c 20008086 00000001 00000007 00000005 00000003 00000000")
    with pytest.raises(RemoteProtocolError, match="fd count"):
        FrameDecoder().feed(no_count)


def test_unknown_type_and_status_survive_round_trip() -> None:
    wire = h("0000001c 20008086 00000001 ffffffff 00000009 00000001 0000007f")
    (frame,) = FrameDecoder().feed(wire)
    assert frame.header.type == 9 and not isinstance(frame.header.type, MessageType)
    assert frame.header.status == 127
    assert frame.header.proc == -1
    assert encode_frame(frame.header, frame.payload) == wire


def test_encode_rejects_what_the_wire_cannot_carry() -> None:
    call = Header(REMOTE, 1, 1, MessageType.CALL, 0, MessageStatus.OK)
    with pytest.raises(LocalProtocolError) as info:
        encode_frame(call, nfds=1)
    assert info.value.remote is False
    with pytest.raises(LocalProtocolError):
        encode_frame(call, b"x" * 100, max_message=24 + 99)
    assert len(encode_frame(call, b"x" * 99, max_message=24 + 99)) == 28 + 99
    with pytest.raises(LocalProtocolError):
        encode_frame(Header(REMOTE, 1, 2**31, MessageType.CALL, 0, MessageStatus.OK))
    with pytest.raises(LocalProtocolError):
        encode_frame(Header(REMOTE, 1, 1, MessageType.CALL, -1, MessageStatus.OK))
    fds = Header(REMOTE, 1, 1, MessageType.CALL_WITH_FDS, 0, MessageStatus.OK)
    with pytest.raises(LocalProtocolError):
        encode_frame(fds, nfds=33)


# --- fuzz ---------------------------------------------------------------------------------

FUZZ_MAX = 64  # small limit so the too-large path is exercised


def reference_decode(data: bytes, max_message: int) -> tuple[list[Frame], bool]:
    """An independent, one-shot model of the rules: (frames, whether it failed)."""
    frames: list[Frame] = []
    pos = 0
    while len(data) - pos >= 4:
        length = int.from_bytes(data[pos : pos + 4], "big")
        if length < 28 or length > max_message + 4:
            return frames, True
        if len(data) - pos < length:
            break
        words = [int.from_bytes(data[pos + i : pos + i + 4], "big") for i in range(4, 28, 4)]
        prog, vers, proc, mtype, serial, status = words
        proc = proc - 2**32 if proc >= 2**31 else proc
        mtype = mtype - 2**32 if mtype >= 2**31 else mtype
        status = status - 2**32 if status >= 2**31 else status
        body = data[pos + 28 : pos + length]
        nfds = 0
        if mtype in (4, 5):
            if len(body) < 4:
                return frames, True
            nfds = int.from_bytes(body[:4], "big")
            if nfds > 32:
                return frames, True
            body = body[4:]
        frames.append(Frame(Header(prog, vers, proc, mtype, serial, status), body, nfds))
        pos += length
    return frames, False


def run_decoder(chunks: list[bytes], max_message: int) -> tuple[list[Frame], bool]:
    dec = FrameDecoder(max_message=max_message)
    frames: list[Frame] = []
    for chunk in chunks:
        try:
            frames += dec.feed(chunk)
        except ProtocolError as exc:
            return frames + exc.frames, True
        assert dec.buffered <= max_message + 4
    return frames, False


headers = st.builds(
    Header,
    st.sampled_from([REMOTE, constants.KEEPALIVE_PROGRAM, TEST_PROG]),
    st.just(1),
    st.integers(-(2**31), 2**31 - 1),
    st.sampled_from(list(MessageType)),
    st.integers(0, 2**32 - 1),
    st.sampled_from(list(MessageStatus)),
)


@st.composite
def frame_streams(draw: st.DrawFn) -> bytes:
    """Valid frames, then optionally a mutation (flipped byte, cut, junk)."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        header = draw(headers)
        limit = FUZZ_MAX - 24 - (4 if header.type in (4, 5) else 0)
        payload = draw(st.binary(max_size=limit))
        nfds = draw(st.integers(0, 32)) if header.type in (4, 5) else 0
        parts.append(encode_frame(header, payload, nfds, max_message=FUZZ_MAX))
    data = bytearray(b"".join(parts))
    mutation = draw(st.sampled_from(["none", "flip", "cut", "junk"]))
    if mutation == "flip" and data:
        index = draw(st.integers(0, len(data) - 1))
        data[index] ^= draw(st.integers(1, 255))
    elif mutation == "cut" and data:
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif mutation == "junk":
        data += draw(st.binary(min_size=1, max_size=40))
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame_streams())
def test_fuzz_every_two_way_split_matches_one_shot(data: bytes) -> None:
    one_shot = run_decoder([data], FUZZ_MAX)
    assert one_shot == reference_decode(data, FUZZ_MAX)
    for cut in range(len(data) + 1):
        assert run_decoder([data[:cut], data[cut:]], FUZZ_MAX) == one_shot


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=8))
def test_fuzz_random_bytes_random_chunks(data: bytes, cuts: list[int]) -> None:
    points = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]
    result = run_decoder(chunks, FUZZ_MAX)
    assert result == run_decoder([data], FUZZ_MAX)
    assert result == reference_decode(data, FUZZ_MAX)
    byte_by_byte = run_decoder([data[i : i + 1] for i in range(len(data))], FUZZ_MAX)
    assert byte_by_byte == result


def test_memory_stays_bounded_on_a_huge_announced_message() -> None:
    dec = FrameDecoder()
    header = h("02000004 20008086 00000001 00000001 00000000 00000000 00000000")
    dec.feed(header)
    chunk = b"\x00" * 65536
    for _ in range(64):
        assert dec.feed(chunk) == []
    assert dec.buffered == 28 + 64 * 65536
    assert dec.buffered <= constants.MESSAGE_MAX + 4


def test_decoded_frames_are_ordinary_frozen_instances() -> None:
    import dataclasses

    (frame,) = FrameDecoder().feed(HEADER_DECODE)
    assert type(frame) is Frame and type(frame.header) is Header
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.header.serial = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.payload = b"x"  # type: ignore[misc]
    same = Header(TEST_PROG, 1, 0x666, MessageType.REPLY, 0x99, MessageStatus.ERROR)
    assert hash(frame.header) == hash(same)
    assert dataclasses.replace(frame.header, serial=1).serial == 1


@given(
    prog=st.integers(-(2**32), 2**33),
    proc=st.integers(-(2**32), 2**33),
    serial=st.integers(-(2**32), 2**33),
    payload=st.binary(max_size=64),
)
def test_encode_call_is_encode_frame_of_a_call(prog, proc, serial, payload):
    """The clients' fast CALL framing gives encode_frame's bytes, or its very error."""
    header = Header(prog, 1, proc, MessageType.CALL, serial, MessageStatus.OK)
    try:
        expected: bytes | str = encode_frame(header, payload)
    except LocalProtocolError as exc:
        expected = str(exc)
    try:
        got: bytes | str = encode_call(prog, proc, serial, payload)
    except LocalProtocolError as exc:
        got = str(exc)
    assert got == expected


def test_encode_call_refuses_what_encode_frame_refuses_for_size():
    payload = b"\0" * 100
    limit = FRAME_MIN + len(payload) - LENGTH_SIZE - 1  # one byte too small
    with pytest.raises(LocalProtocolError) as frame_error:
        encode_frame(
            Header(0x20008086, 1, 1, MessageType.CALL, 0, MessageStatus.OK),
            payload,
            max_message=limit,
        )
    with pytest.raises(LocalProtocolError) as call_error:
        encode_call(0x20008086, 1, 0, payload, max_message=limit)
    assert str(call_error.value) == str(frame_error.value)
