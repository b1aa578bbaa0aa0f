"""Hostile input for every parser that reads from the network or a file, as hypothesis
strategies, and a runner that counts crashes and hangs.

A *crash* is an exception the parser's caller does not handle (so a message could take down the
bridge, a worker or a call); the errors each caller does handle are listed per target. A *hang*
is one input taking longer than ``HANG_S``. Inputs mix random bytes, random JSON built from each
format's own vocabulary (so the fuzzer reaches past the first key check), and mutations of real
messages. ``tests/security/test_fuzz.py`` runs a seeded few hundred cases per parser;
``benchmarks/bench_fuzz.py`` runs 10,000 or more and reports the figures in docs/security.md.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

# A runaway input (a loop, an exponential expansion) runs for far longer than this; an ordinary
# input can take over a second when two busy processes compete for the cores.
HANG_S = 5.0
ROOT = Path(__file__).resolve().parents[2]

# Words the formats use, so generated objects hit real code paths.
VOCAB = [
    "state", "brightness", "color", "color_temp", "color_mode", "x", "y", "hue", "saturation", "hs",
    "temperature", "current_heating_setpoint", "occupied_heating_setpoint", "system_mode", "position",
    "battery", "linkquality", "power", "energy", "voltage", "POWER", "POWER1", "Dimmer", "Color", "HSBColor",
    "CT", "StatusSNS", "ENERGY", "Power", "Temperature", "Humidity", "name", "unique_id", "uniq_id", "~",
    "stat_t", "cmd_t", "command_topic", "state_topic", "availability", "avty_t", "pl_on", "pl_off", "dev",
    "device", "identifiers", "ids", "schema", "brightness_scale", "value_template", "json_attributes_topic",
    "ieee_address", "friendly_name", "definition", "exposes", "features", "type", "property", "access",
    "value_on", "value_off", "value_min", "value_max", "values", "supported", "disabled", "interview_completed",
    "ip", "dn", "fn", "hn", "mac", "md", "ty", "if", "ofln", "onln", "state", "t", "ft", "tp", "rl", "swc",
    "swn", "btn", "so", "lk", "lt_st", "sho", "sht", "ver", "sw", "event", "start", "media", "payload",
    "track", "chunk", "timestamp", "streamSid", "callSid", "accountSid", "customParameters", "mediaFormat",
    "encoding", "sampleRate", "channels", "tracks", "mark", "dtmf", "digit", "stop", "sequenceNumber",
    "model", "firmware", "locale", "recorded_at", "duration_s", "audio", "format", "chunks", "bytes", "sha256",
    "clip_id", "seq", "areas", "devices", "id", "area", "aliases", "convention", "topics", "faults",
    "listen", "transcribe", "speak", "mqtt", "phone", "feedback", "dialogue", "store", "session", "llm",
    "frame_ms", "vad_aggressiveness", "model", "voice", "broker", "key", "retention_days",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["ON", "OFF", "on", "off", "TOGGLE", "online", "offline", "", "NaN", "1e999"]),
)
KEYS = st.one_of(st.sampled_from(VOCAB), st.text(max_size=8))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=6)),
    max_leaves=30,
)
JSON_OBJECTS = st.dictionaries(KEYS, JSON_VALUES, max_size=10)


def _dump(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def mutations(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """A real message with bytes flipped, cut, duplicated or inserted."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(1, 4))):
            op = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
            pos = draw(st.integers(0, max(0, len(data))))
            if op == "flip" and data:
                data[min(pos, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
            elif op == "cut":
                del data[pos:]
            elif op == "insert":
                data[pos:pos] = draw(st.binary(max_size=8))
            else:
                data[pos:pos] = data[pos : pos + draw(st.integers(0, 40))]
        return bytes(data)

    return mutate()


def payloads(seeds: list[Any]) -> st.SearchStrategy[bytes]:
    encoded = [s if isinstance(s, bytes) else _dump(s) for s in seeds]
    return st.one_of(
        st.binary(max_size=200),
        JSON_VALUES.map(_dump),
        JSON_OBJECTS.map(_dump),
        mutations(encoded),
        st.sampled_from(encoded),
    )


@dataclass
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    call: Callable[[Any], Any]
    handled: tuple[type[BaseException], ...]  # what the caller catches (a refusal, not a crash)


@dataclass
class Tally:
    cases: int = 0
    refused: int = 0  # inputs turned away with a handled error
    crashes: dict[str, int] = field(default_factory=dict)  # exception type → count
    first_crash: dict[str, str] = field(default_factory=dict)  # exception type → an input that did it
    hangs: int = 0
    slowest_s: float = 0.0

    def run(self, target: Target, value: Any) -> None:
        self.cases += 1
        started = time.perf_counter()
        try:
            target.call(value)
        except target.handled:
            self.refused += 1
        except Exception as exc:
            kind = f"{type(exc).__name__} at {_where(exc)}"
            self.crashes[kind] = self.crashes.get(kind, 0) + 1
            self.first_crash.setdefault(kind, repr(value)[:300])
        elapsed = time.perf_counter() - started
        self.slowest_s = max(self.slowest_s, elapsed)
        if elapsed > HANG_S:
            self.hangs += 1


def _where(exc: BaseException) -> str:
    """The last frame of the project's own code the exception passed through."""
    tb, place = exc.__traceback__, "?"
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.startswith(str(ROOT)):
            place = f"{Path(name).relative_to(ROOT)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return place


# -- the targets --------------------------------------------------------------------------


def _home_devices() -> dict[str, list[Any]]:
    from device_bridge.home import load_home

    by_convention: dict[str, list[Any]] = {}
    for path in (ROOT / "device_bridge" / "homes" / "demo.yaml", ROOT / "tests" / "scenarios" / "home.yaml"):
        if path.is_file():
            for hd in load_home(path).devices:
                by_convention.setdefault(hd.device.convention, []).append(hd.device)
    return by_convention


def _state_target(convention: str, name: str) -> Target | None:
    from device_bridge import conventions

    devices = _home_devices().get(convention, [])
    if not devices:
        return None
    conv = conventions.get(convention)
    for d in devices:
        conv.prepare(d)
    topics = sorted({t for d in devices for t in conv.subscriptions(d)})
    seeds: list[Any] = []
    for d in devices:
        from device_bridge.devices import default_state

        for out in conv.report(d, default_state(d.type), {"available": True, "battery": 80}):
            seeds.append(out.payload if isinstance(out.payload, bytes) else out.payload.encode())
    strategy = st.tuples(st.sampled_from(range(len(devices))), st.sampled_from(topics), payloads(seeds or [{}]))

    def call(value: tuple[int, str, bytes]) -> Any:
        device = devices[value[0]]
        return conv.parse(device, value[1], value[2])

    from device_bridge.conventions import PayloadError

    # DeviceBridge._on_device_message catches these and logs the message as skipped.
    return Target(name, strategy, call, (PayloadError, ValueError, TypeError, KeyError, AttributeError))


def _ha_discovery_target() -> Target:
    from device_bridge.conventions import homeassistant as ha
    from device_bridge.registry import Registry

    seeds = [
        {"~": "home/lamp", "name": "Lamp", "uniq_id": "lamp1", "cmd_t": "~/set", "stat_t": "~/state", "schema": "json",
         "brightness": True, "dev": {"ids": ["lamp1"], "name": "Lamp"}},
        {"name": "Temp", "stat_t": "home/t", "unit_of_measurement": "°C", "uniq_id": "t1", "dev_cla": "temperature"},
        {"name": "Plug", "cmd_t": "home/plug/set", "stat_t": "home/plug/state", "pl_on": "1", "pl_off": "0", "uniq_id": "p"},
    ]
    topics = st.one_of(
        st.sampled_from(["homeassistant/light/lamp1/config", "homeassistant/sensor/x/t1/config",
                         "homeassistant/switch/plug/config", "homeassistant/climate/c/config", "homeassistant/cover/c/config"]),
        st.text(max_size=40).map(lambda t: "homeassistant/" + t),
    )

    def call(value: tuple[str, bytes]) -> Any:
        return Registry().apply_discovery(value[0], value[1], "homeassistant")

    del ha
    return Target("homeassistant_discovery", st.tuples(topics, payloads(seeds)), call, ())


def _tasmota_discovery_target() -> Target:
    from device_bridge.conventions import tasmota_discovery as tdisc
    from device_bridge.registry import Registry

    mac = "AABBCCDDEEFF"
    seeds: list[Any] = [
        {"ip": "192.168.1.20", "dn": "Kitchen Plug", "fn": ["Kitchen Plug", None], "hn": "tasmota-1", "mac": mac,
         "md": "Sonoff Basic", "ty": 0, "if": 0, "ofln": "Offline", "onln": "Online", "state": ["OFF", "ON", "TOGGLE", "HOLD"],
         "sw": "13.0.0", "t": "tasmota_1", "ft": "%prefix%/%topic%/", "tp": ["cmnd", "stat", "tele"],
         "rl": [1, 0, 0, 0, 0, 0, 0, 0], "swc": [-1] * 8, "swn": [None] * 8, "btn": [0] * 8,
         "so": {"4": 0, "11": 0, "13": 0, "17": 0, "20": 0, "30": 0, "68": 0, "73": 0, "82": 0, "114": 0, "117": 0},
         "lk": 0, "lt_st": 0, "sho": [0] * 4, "sht": [[0, 0, 0]] * 4, "ver": 1},
        {"sn": {"Time": "2024-01-01T00:00:00", "ENERGY": {"Power": 10, "Total": 1.5}}, "ver": 1},
    ]
    topics = st.sampled_from([f"{tdisc.DEFAULT_PREFIX}/{mac}/config", f"{tdisc.DEFAULT_PREFIX}/{mac}/sensors",
                              f"{tdisc.DEFAULT_PREFIX}/zz/config", f"{tdisc.DEFAULT_PREFIX}/{mac}"])
    registry = Registry()

    def call(value: tuple[str, bytes]) -> Any:
        return registry.apply_tasmota_discovery(value[0], value[1])

    return Target("tasmota_discovery", st.tuples(topics, payloads(seeds)), call, ())


def _z2m_devices_target() -> Target:
    from device_bridge.conventions import zigbee2mqtt as z2m
    from device_bridge.registry import Registry

    devices = _home_devices().get("zigbee2mqtt", [])
    listing = [z2m.bridge_device_entry(d, battery=False) for d in devices[:4]]
    registry = Registry()

    def call(payload: bytes) -> Any:
        return registry.apply_z2m_devices("zigbee2mqtt", payload)

    return Target("zigbee2mqtt_bridge_devices", payloads([listing, *[[e] for e in listing]]), call, ())


def _feedback_target() -> Target:
    from voicebot.feedback import messages as m

    clip = {"model": "m1", "firmware": "1.0", "locale": "en-US", "recorded_at": "2024-01-01T00:00:00Z",
            "format": "wav", "audio": base64.b64encode(b"RIFF....WAVE").decode()}
    topics = st.one_of(
        st.sampled_from(["voicebot/feedback/dev1/clip", "voicebot/feedback/dev1/clip/c1/start",
                         "voicebot/feedback/dev1/clip/c1/chunk/3", "voicebot/feedback/dev1/clip/c1/end",
                         "voicebot/feedback/dev1/clip/c1/chunk/x"]),
        st.text(max_size=60),
    )
    props = st.dictionaries(st.sampled_from(["clip_id", "model", "firmware", "recorded_at", "format", "x"]),
                            st.text(max_size=20), max_size=5)

    def call(value: tuple[str, bytes, dict[str, str]]) -> Any:
        topic, payload, p = value
        route = m.parse_topic(topic, "voicebot/feedback")
        m.clip_id_from(payload, p)
        if payload[:1] == b"{":
            data = m.parse_json(payload, "a message", max_bytes=1 << 20)
            m.meta_from(route.device_id, "c1", data)
        return m.whole_clip(route.device_id, payload, p)

    return Target("feedback_clip_messages", st.tuples(topics, payloads([clip, {"chunks": 3, "bytes": 10}]), props),
                  call, (m.FeedbackError,))


def _twilio_target() -> Target:
    from voicebot.channels.phone import twilio_wire as w

    seeds = [
        {"event": "connected", "protocol": "Call", "version": "1.0.0"},
        {"event": "start", "sequenceNumber": "1", "start": {"streamSid": "MZ1", "callSid": "CA1", "accountSid": "AC1",
         "tracks": ["inbound"], "customParameters": {"caller": "+1555"},
         "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}, "streamSid": "MZ1"},
        {"event": "media", "sequenceNumber": "2", "media": {"track": "inbound", "chunk": "1", "timestamp": "5",
         "payload": base64.b64encode(b"\xff" * 160).decode()}, "streamSid": "MZ1"},
        {"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": "1"}, "streamSid": "MZ1"},
        {"event": "mark", "mark": {"name": "m1"}, "streamSid": "MZ1"},
        {"event": "stop", "stop": {"callSid": "CA1"}, "streamSid": "MZ1"},
    ]
    frames = st.one_of(payloads(seeds).map(lambda b: b.decode("utf-8", "replace")), st.binary(max_size=100))
    return Target("twilio_frames", frames, w.parse, (w.ProtocolError,))


def _audiosocket_target() -> Target:
    from voicebot.channels.phone import audiosocket_wire as w

    seeds = [w.encode_uuid("0123456789abcdef0123456789abcdef"), w.encode_audio(b"\x00\x01" * 160),
             w.encode(w.Kind.DTMF, b"5"), w.encode(w.Kind.HANGUP), w.encode(w.Kind.ERROR, b"\x01")]
    stream = st.one_of(st.binary(max_size=400), mutations([b"".join(seeds), *seeds]),
                       st.lists(st.sampled_from(seeds), max_size=6).map(b"".join))

    async def read_all(data: bytes) -> list[Any]:
        reader = asyncio.StreamReader(limit=1 << 16)
        reader.feed_data(data)
        reader.feed_eof()
        out = []
        while True:
            try:
                out.append(w.validate(await w.read_message(reader)))
            except w.PeerClosed:
                return out

    loop = asyncio.new_event_loop()

    def call(data: bytes) -> Any:
        return loop.run_until_complete(read_all(data))

    return Target("audiosocket_frames", stream, call, (w.ProtocolError,))


def _home_file_target() -> Target:
    from device_bridge.home import HomeFileError, load_home

    seed = yaml.safe_load((ROOT / "device_bridge" / "homes" / "demo.yaml").read_text(encoding="utf-8"))
    texts = [yaml.safe_dump(seed).encode()]
    folder = Path(tempfile.mkdtemp(prefix="fuzz-home-"))
    path = folder / "home.yaml"

    @st.composite
    def homes(draw: st.DrawFn) -> Any:
        kind = draw(st.sampled_from(["dict", "text", "mutated"]))
        if kind == "dict":
            areas = draw(st.lists(st.one_of(st.text(max_size=10), JSON_OBJECTS), max_size=3))
            devices = draw(st.lists(st.one_of(JSON_OBJECTS, st.fixed_dictionaries(
                {"name": st.text(max_size=10), "type": st.sampled_from(["light", "switch", "climate", "cover", "sensor", "lock", "x"]),
                 "area": st.text(max_size=8)}, optional={"convention": st.sampled_from(["zigbee2mqtt", "homeassistant", "tasmota", "?"]),
                                                         "state": JSON_OBJECTS, "faults": JSON_VALUES, "aliases": JSON_VALUES})), max_size=4))
            return {"areas": areas, "devices": devices}
        if kind == "text":
            return draw(st.binary(max_size=300))
        return draw(mutations(texts))

    def call(value: Any) -> Any:
        if isinstance(value, dict):
            return load_home(value)
        path.write_bytes(value)
        return load_home(path)

    return Target("home_files", homes(), call, (HomeFileError,))


def _config_target() -> Target:
    from pydantic import ValidationError

    from voicebot.config import ConfigError, Settings, read_config_file, section
    from voicebot.phone.service import PhoneSettings
    from voicebot.store_crypto import StoreSettings

    folder = Path(tempfile.mkdtemp(prefix="fuzz-config-"))
    seed = {"listen": {"frame_ms": 30}, "transcribe": {"model": "tiny.en"}, "phone": {"http": "127.0.0.1:9093"},
            "store": {"retention_days": {"conversations": 30}}}

    @st.composite
    def configs(draw: st.DrawFn) -> tuple[str, bytes]:
        suffix = draw(st.sampled_from([".yaml", ".toml"]))
        kind = draw(st.sampled_from(["json", "raw", "mutated"]))
        if kind == "json":
            return suffix, yaml.safe_dump(draw(JSON_OBJECTS)).encode()
        if kind == "raw":
            return suffix, draw(st.binary(max_size=200))
        return suffix, draw(mutations([yaml.safe_dump(seed).encode(), b'[listen]\nframe_ms = 30\n[phone]\nhttp = "x"\n']))

    def call(value: tuple[str, bytes]) -> Any:
        path = folder / f"voicebot{value[0]}"
        path.write_bytes(value[1])
        data = read_config_file(path)
        settings = Settings.model_validate(data)
        section(PhoneSettings, "phone", settings)
        return section(StoreSettings, "store", settings)

    return Target("configuration", configs(), call, (ConfigError, ValidationError))


def targets() -> list[Target]:
    found = [
        _state_target("zigbee2mqtt", "zigbee2mqtt_state"),
        _state_target("homeassistant", "homeassistant_state"),
        _state_target("tasmota", "tasmota_state"),
        _z2m_devices_target(),
        _ha_discovery_target(),
        _tasmota_discovery_target(),
        _feedback_target(),
        _audiosocket_target(),
        _twilio_target(),
        _home_file_target(),
        _config_target(),
    ]
    return [t for t in found if t is not None]


def run(target: Target, cases: int, seed: int = 0) -> Tally:
    """Feed ``cases`` generated inputs to ``target``; every outcome is counted, none raised."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    tally = Tally()
    logging.disable(logging.CRITICAL)  # the parsers log every refusal; thousands of lines say nothing

    @hypothesis_seed(seed)
    @settings(max_examples=cases, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(target.strategy)
    def feed(value: Any) -> None:
        tally.run(target, value)

    try:
        feed()
    finally:
        logging.disable(logging.NOTSET)
    return tally
