"""The one place that assembles a running voicebot from settings.

``voicebot demo``, ``listen``, ``phone`` and ``chat`` all start here: a broker (the configured
one, or an embedded one on loopback), the device bridge, optionally a simulated home, the store,
the dialogue engine, and the shared, warmed-up speech models. Closing the runtime stops what it
started, in reverse order.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from device_bridge import broker as broker_mod
from device_bridge.bridge import DeviceBridge
from device_bridge.devices import DeviceControl, DeviceEvent
from device_bridge.simulator import Simulator
from voicebot.config import Settings, load_settings, section
from voicebot.customers import follow_customer
from voicebot.dialogue.engine import DialogueEngine
from voicebot.dialogue.settings import DialogueSettings
from voicebot.dialogue.types import Conversation
from voicebot.home_words import HomeWords
from voicebot.models import load_synthesizer, load_transcriber
from voicebot.proactive.opening import finding_opener
from voicebot.proactive.settings import ProactiveSettings
from voicebot.speak import Synthesizer
from voicebot.sqlite_db import store_location
from voicebot.store import Store
from voicebot.store_admin import RetentionPruner
from voicebot.store_crypto import StoreSettings
from voicebot.transcribe import Transcriber

log = logging.getLogger(__name__)

WARMUP_PHRASE = "Hello, how can I help?"
WARMUP_REQUEST = "turn on the light"  # a request the rules understand (no device is touched)


class StartupError(RuntimeError):
    """Something the runtime could not start; the message says what and how to fix it."""


@dataclass
class Runtime:
    """Everything one process needs to hold conversations."""

    settings: Settings
    broker_url: str
    bridge: DeviceControl
    store: Store
    engine: DialogueEngine
    simulator: Simulator | None = None  # when a home is simulated
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _models_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _transcriber: Transcriber | None = field(default=None, repr=False)
    _synthesizer: Synthesizer | None = field(default=None, repr=False)

    @property
    def transcriber(self) -> Transcriber:
        self.load_models()
        assert self._transcriber is not None
        return self._transcriber

    @property
    def synthesizer(self) -> Synthesizer:
        self.load_models()
        assert self._synthesizer is not None
        return self._synthesizer

    def load_models(self, warm: bool = True) -> None:
        """Load Whisper and Piper once (shared by every session of this process) and run one
        warm-up call through each, so the first real turn pays no first-call cost."""
        with self._models_lock:
            if self._transcriber is None:
                self._transcriber, self._synthesizer = load_speech_models(self.settings, warm=warm)
                self.use_home_words()
                if warm:
                    self.warm_understanding()
                    settle_heap()
                add_listener = getattr(self.bridge, "add_listener", None)
                if add_listener is not None:
                    # a device added, renamed or removed: the names to hear change with it
                    self._closers.append(add_listener(self._on_registry_event))

    def warm_understanding(self) -> None:
        """Build the understander and its templates and run one request through it, so no
        caller's turn pays for them (measured: 390 ms of the first turn's dialogue). The learned
        layer's index is read too; its model (~60 MB) still loads at the first turn the rules do
        not understand, so a process whose callers the rules understand never holds it."""
        try:
            understander = self.engine.understander()
            warm_up = getattr(understander, "warm_up", None)
            if callable(warm_up):
                warm_up()
            understander.understand(WARMUP_REQUEST)
        except Exception:  # a warm-up is a bonus: the first turns build it otherwise
            log.exception("could not warm up the understanding")

    def _on_registry_event(self, event: DeviceEvent) -> None:
        if event.kind in ("added", "changed", "removed"):
            self.use_home_words()

    def use_home_words(self) -> None:
        """Correct near-misses of this home's names (devices, aliases, rooms) in what Whisper
        writes. Correction only, no prompt: measured, the correction helped a little and never
        hurt, while the prompt did not help. Call again after the home's registry changed. The
        transcriber is process-wide, so the last runtime to call this sets the words."""
        use = getattr(self._transcriber, "use_home_words", None)
        if use is None:  # a transcriber without home-word support
            return
        try:
            words = HomeWords.from_registry(self.bridge.devices(), self.bridge.areas(),
                                            language=str(getattr(self._transcriber, "language", None) or "en"))
        except Exception:  # hearing names better is a bonus; never a reason to fail loading
            log.exception("could not build the home's words for the transcriber")
            return
        use(words, prompt=False, correct=True)

    def conversation(
        self,
        channel: str,
        customer_id: str | None = None,
        caller: str | None = None,
        speaker_area: str | None = None,
        language: str = "en",
    ) -> Conversation:
        """A new dialogue conversation, with the LLM policy around it when one is configured
        (section ``llm``)."""
        # Imported here, not at the top: the optional LLM policy brings the OpenAI client, seconds
        # to import, which a voicebot without an LLM should not pay at every start.
        from voicebot.dialogue.llm import with_llm

        conversation = with_llm(
            self.engine.conversation(
                channel=channel,
                customer_id=customer_id,
                caller=caller,
                speaker_area=speaker_area,
                language=language,
            ),
            self.settings,
        )
        # A known customer's conversation continues where their last one, on any channel, left off.
        return follow_customer(conversation, self.store, self.settings)

    def close(self) -> None:
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception:  # one part failing to stop must not keep the others running
                log.exception("error while shutting down %r", closer)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def settle_heap() -> None:
    """Collect what loading left behind, then move every object alive now (models, the
    understander's tables, the playbooks: a few million) out of the collector's sight. Python's
    oldest-generation collection walks them all, and did so in the middle of turns: 180-210 ms
    with the interpreter lock held, every call's audio stalled. What a call allocates is still
    collected as before."""
    gc.collect()
    gc.freeze()


# The models are process-wide (voicebot.models caches them), so is the record of which were warmed.
# Weak references to the models themselves, not their ids: a freed model's id can be reused.
_warmed: weakref.WeakSet[Transcriber] = weakref.WeakSet()
_warm_lock = threading.Lock()


def load_speech_models(settings: Settings | None = None, warm: bool = True) -> tuple[Transcriber, Synthesizer]:
    """The process-wide transcriber and synthesizer (voicebot.models caches them), warmed once:
    a phrase is synthesized and transcribed back, which runs every code path a turn uses."""
    s = settings or load_settings()
    transcriber = load_transcriber(s)
    synthesizer = load_synthesizer(s)
    if warm:
        with _warm_lock:
            if transcriber not in _warmed:
                pcm = np.concatenate([c.pcm for c in synthesizer.synthesize(WARMUP_PHRASE, 16000)])
                transcriber.transcribe(pcm)
                _warmed.add(transcriber)
                warm_voices = getattr(synthesizer, "warm", None)  # the other languages' Piper voices
                if warm_voices is not None:
                    warm_voices()
    return transcriber, synthesizer


def build_runtime(
    settings: Settings | None = None,
    *,
    broker: str | None = None,
    home: str | Path | None = None,
    simulate: bool = False,
    store_path: str | Path | None = None,
    models: bool = True,
) -> Runtime:
    """Start the stack.

    ``broker``: an mqtt:// or mqtts:// URL; default ``mqtt.broker`` from the settings, and when
    that is empty an embedded broker on a free loopback port. ``home``: a home file; the bridge
    learns the devices from it, and with ``simulate`` a simulated home obeys on the broker.
    ``store_path``: the store's database: a SQLite file or postgresql://… (``dialogue.store``, else
    ``store.url``, else <data_dir>/voicebot.sqlite3; ":memory:" for a throw-away store). ``models``: load and warm Whisper and Piper now.
    """
    s = settings or load_settings()
    closers: list[Callable[[], None]] = []
    try:
        url = broker or s.mqtt.broker
        if not url:
            url, stop = _embedded_broker()
            closers.append(stop)
        home_path = Path(home) if home else None
        if home_path is not None and not home_path.is_file():
            raise StartupError(f"home file {home_path} does not exist")

        simulator = None
        if simulate:
            if home_path is None:
                raise StartupError("a simulated home needs a home file (--home FILE)")
            simulator = _start_simulator(url, home_path, s)
            closers.append(simulator.stop)

        bridge = _start_bridge(url, home_path, s)
        closers.append(bridge.stop)
        if simulator is not None:
            # The simulated devices announce their state on start; wait until the bridge has heard it.
            bridge.wait_until_known(timeout=5.0)

        dialogue = section(DialogueSettings, "dialogue", s)
        store_path = store_location(s, store_path, dialogue.store)  # the store creates a file's folder
        store_settings = section(StoreSettings, "store", s)
        store = Store(store_path, store_settings=store_settings)
        closers.append(store.close)
        closers.append(RetentionPruner(store, store_settings).start().stop)

        engine = DialogueEngine(bridge, store, s)
        closers.append(_start_live(bridge, store, s))  # live conversations for the agents' console
        # the next conversation starts from what the proactive watcher told the customer
        opener = finding_opener(store_path, bridge, engine.replies, section(ProactiveSettings, "proactive", s))
        if opener is not None:
            engine.openers.append(opener)
        rt = Runtime(s, url, bridge, store, engine, simulator, closers)
    except BaseException:
        for closer in reversed(closers):
            with contextlib.suppress(Exception):
                closer()
        raise
    if models:
        try:
            rt.load_models()
        except BaseException:
            rt.close()
            raise
    return rt


def _start_live(bridge: DeviceBridge, store: Store, settings: Settings) -> Callable[[], None]:
    from voicebot.console.settings import ConsoleSettings
    from voicebot.live import start_link

    console = section(ConsoleSettings, "console", settings)
    return start_link(bridge.conn if console.publish_live else None, store, console.live_topic)


def _embedded_broker() -> tuple[str, Callable[[], None]]:
    embedded = broker_mod.start_embedded()
    return embedded.url, embedded.stop


def _start_simulator(url: str, home: Path, settings: Settings) -> Simulator:
    try:
        return Simulator(home, url).start()
    except ConnectionError as exc:
        raise StartupError(str(exc)) from exc


def _start_bridge(url: str, home: Path | None, settings: Settings) -> DeviceBridge:
    m = settings.mqtt
    bridge = DeviceBridge(
        url,
        home,
        username=m.username,
        password=m.password,
        ca_file=m.ca_file,
        cert_file=m.cert_file,
        key_file=m.key_file,
    )
    try:
        bridge.start()
    except ConnectionError as exc:
        raise StartupError(str(exc)) from exc
    return bridge
