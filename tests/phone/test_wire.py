"""The two wire formats, byte for byte: what Asterisk and Twilio send is read correctly and
every malformed message is refused with a reason."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import pytest

from voicebot.channels.phone import audiosocket_wire as aswire
from voicebot.channels.phone import twilio_wire as twire


def read(data: bytes, eof: bool = True) -> aswire.Message:
    async def go() -> aswire.Message:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        if eof:
            reader.feed_eof()
        return await aswire.read_message(reader)

    return asyncio.run(go())


def test_audiosocket_messages_read_as_asterisk_writes_them() -> None:
    call = uuid.uuid4()
    assert aswire.encode_uuid(call) == bytes([0x01, 0x00, 0x10]) + call.bytes
    msg = read(aswire.encode_uuid(call))
    assert (msg.kind, uuid.UUID(bytes=msg.payload)) == (aswire.Kind.UUID, call)
    assert read(b"\x03\x00\x01#") == aswire.Message(aswire.Kind.DTMF, b"#")
    audio = read(b"\x10\x01\x40" + bytes(320))
    assert audio.is_audio and len(audio.payload) == 320 and aswire.AUDIO_RATES[audio.kind] == 8000
    assert aswire.AUDIO_RATES[read(b"\x12\x02\x80" + bytes(640)).kind] == 16000
    assert read(b"\x00\x00\x00").kind == aswire.Kind.HANGUP
    assert aswire.HANGUP == b"\x00\x00\x00"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x10\x01", "truncated header"),
        (b"\x10\x01\x40" + bytes(100), "truncated payload"),
        (b"\x10\x00\x00", "zero-length"),
        (b"\x03\x00\x00", "zero-length"),
        (b"\x07\x00\x02ab", "unknown message kind 0x07"),
        (b"\x01\x00\x04abcd", "UUID payload must be 16 bytes"),
        (b"\x03\x00\x01x", "bad DTMF"),
        (b"\x10\x00\x03abc", "odd length"),
    ],
)
def test_malformed_audiosocket_messages_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(aswire.ProtocolError, match=reason):
        read(data)


def test_a_clean_close_between_messages_is_not_an_error() -> None:
    with pytest.raises(aswire.PeerClosed):
        read(b"")


def test_twilio_messages_parse_with_string_numbers_and_custom_parameters() -> None:
    start = twire.parse(
        json.dumps(
            {
                "event": "start",
                "sequenceNumber": "1",
                "start": {
                    "accountSid": "AC1",
                    "streamSid": "MZ1",
                    "callSid": "CA1",
                    "tracks": ["inbound"],
                    "customParameters": {"caller": "+15550100", "customer_id": "c-7"},
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
                "streamSid": "MZ1",
            }
        )
    )
    assert isinstance(start, twire.Start)
    assert (start.call_sid, start.stream_sid) == ("CA1", "MZ1")
    assert start.custom_parameters == {"caller": "+15550100", "customer_id": "c-7"}
    media = twire.parse(
        json.dumps(
            {
                "event": "media",
                "media": {"track": "inbound", "chunk": "3", "timestamp": "40", "payload": base64.b64encode(b"\xff" * 160).decode()},
            }
        )
    )
    assert media == twire.Media("inbound", 3, 40, b"\xff" * 160)
    assert twire.parse('{"event":"dtmf","dtmf":{"track":"inbound_track","digit":"0"}}') == twire.Dtmf("0")
    assert twire.parse('{"event":"mark","mark":{"name":"end-1"}}') == twire.Mark("end-1")
    assert isinstance(twire.parse('{"event":"stop","stop":{"callSid":"CA1"}}'), twire.Stop)


def test_twilio_replies_are_the_documented_json() -> None:
    assert json.loads(twire.media("MZ1", b"\x00\x01")) == {
        "event": "media",
        "streamSid": "MZ1",
        "media": {"payload": base64.b64encode(b"\x00\x01").decode()},
    }
    assert json.loads(twire.mark("MZ1", "m")) == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "m"}}
    assert json.loads(twire.clear("MZ1")) == {"event": "clear", "streamSid": "MZ1"}


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x00\x01", "binary frame"),
        ("{not json", "not JSON"),
        ('{"event":"bogus"}', "unknown event"),
        ('{"media":{}}', "missing 'event'"),
        ('{"event":"media","media":{"payload":"***"}}', "not base64"),
        ('{"event":"media","media":{"chunk":"x","payload":""}}', "not a number"),
        ('{"event":"dtmf","dtmf":{"digit":"xy"}}', "bad digit"),
        ('{"event":"start","start":{"streamSid":"MZ"}}', "missing 'callSid'"),
        (
            '{"event":"start","start":{"streamSid":"MZ","callSid":"CA","mediaFormat":{"encoding":"audio/l16","sampleRate":16000}}}',
            "unsupported media format",
        ),
    ],
)
def test_malformed_twilio_frames_are_refused_with_a_reason(frame: str | bytes, reason: str) -> None:
    with pytest.raises(twire.ProtocolError, match=reason):
        twire.parse(frame)
