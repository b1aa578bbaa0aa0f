"""The phone line as a service: shared models and pools, the AudioSocket and Twilio servers and
the HTTP outcome endpoint, started and stopped together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from voicebot.channels.phone.audiosocket import AudioSocketServer
from voicebot.channels.phone.auth import ApiToken, api_token, check_listeners, parse_networks, peer_allowed
from voicebot.channels.phone.call_store import CallStore
from voicebot.channels.phone.calls import CallRecord, CallRegistry, start_http
from voicebot.channels.phone.leg import Leg
from voicebot.channels.phone.pool import SynthesisSlots, TranscriptionPool
from voicebot.channels.phone.twilio import TwilioServer
from voicebot.config import Settings, section
from voicebot.customers import identify
from voicebot.dialogue.replies import default_replies
from voicebot.dialogue.types import Conversation
from voicebot.metrics import default_metrics
from voicebot.phone import memory
from voicebot.phone.admission import Admission, BusyCall, BusyServices, default_max_calls
from voicebot.phone.call import PhoneCall, PhoneServices
from voicebot.session import SessionSettings
from voicebot.speak import Synthesizer
from voicebot.sqlite_db import StoreDatabase
from voicebot.transcribe import Transcriber

log = logging.getLogger(__name__)


class PhoneSettings(BaseModel):
    """The ``phone`` section of the configuration file (``VOICEBOT_PHONE__*``)."""

    audiosocket: str | None = "127.0.0.1:9092"  # HOST:PORT, or empty to disable
    twilio: str | None = None  # HOST:PORT of the Media Streams WebSocket
    http: str | None = "127.0.0.1:9093"  # HOST:PORT of GET /calls/{uuid}
    # threads taking turns from the shared transcription queue; None: one per model replica
    # (``transcribe.workers``, which the phone line sets to 2 of 1 thread each: phone_transcription)
    transcribe_workers: int | None = Field(None, ge=1)
    synthesis_slots: int = 1  # sentences synthesized at the same time, over all calls
    worker_threads: int = 4  # the calls' own work off the event loop (DTMF answers, call set-up)
    # The event loop's default executor, where the live session runs its dialogue turns,
    # synthesis and (waits for) transcription. Those threads mostly wait (device confirmations,
    # the transcription queue); too few and one call's wait holds up another call's reply.
    session_threads: int = 64
    uuid_timeout_s: float = 5.0  # an AudioSocket peer must send its UUID within this
    idle_timeout_s: float = 3.0  # an AudioSocket peer silent this long has gone
    start_timeout_s: float = 5.0  # a Media Streams peer must send "start" within this
    # A caller who says nothing for this long is gone (the line stays open on a muted phone);
    # used unless the "session" section sets its own idle_timeout_s.
    silence_timeout_s: float = 60.0
    # Who may reach the line (docs/security.md). The HTTP API always needs a bearer token: this
    # one, or one generated into DATA_DIR/phone-api-token (mode 0600) on first start.
    api_token: str | None = None
    # AudioSocket carries no credentials: off loopback, only these networks may connect.
    audiosocket_peers: list[str] = []
    # Twilio: the account's auth token checks X-Twilio-Signature on every stream; the public
    # wss:// URL of the <Stream> (as Twilio signed it) when a proxy rewrites host or path; and
    # optionally the account SID a stream's start message must name.
    twilio_auth_token: str | None = None
    twilio_public_url: str | None = None
    twilio_account_sid: str | None = None
    max_announced: int = 1000  # calls announced over HTTP and not yet connected
    # Calls served at once; one more is answered "all lines are busy" with a callback ticket
    # (voicebot.phone.admission). None: 4 per CPU core (measured; README benchmarks, docs/scale.md).
    max_calls: int | None = Field(None, ge=0)
    # Replies (keys of the dialogue's reply files) synthesized into the phrase cache at start, so
    # the sentences every call hears play at once instead of waiting for Piper.
    cached_replies: list[str] = Field(default_factory=lambda: list(FREQUENT_REPLIES))


FREQUENT_REPLIES = (
    "greeting", "greeting_back", "anything_else", "ok_anything_else", "thanks", "goodbye", "not_understood",
    "not_understood_again", "which_device_plain", "which_device_again", "which_device_problem",
    "yes_no_out_of_context", "ok_try_again", "help", "lines_busy",
)


def phone_transcription(settings: Settings) -> Settings:
    """The phone line's Whisper: two replicas of one thread each (``transcribe.workers`` 2,
    ``threads`` 1) unless the configuration sets either. Calls' turns come in bursts; one
    transcription on two threads used the cores poorly (CTranslate2's threads wait for each other
    at every step, and under load the waiting burns CPU): measured with bench_phone (README),
    the line's CPU per turn halved and the queue all but vanished."""
    t = settings.transcribe
    if {"threads", "workers"} & t.model_fields_set:
        return settings
    return settings.model_copy(update={"transcribe": t.model_copy(update={"threads": 1, "workers": 2})})


def parse_hostport(value: str, what: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{what}: expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def identify_caller(record: CallRecord, store: Any) -> None:
    """Fill in the customer from the caller's number when the dialplan or stream did not."""
    if record.customer_id or not record.caller or store is None:
        return
    customer_id = identify(store, "phone", record.caller)  # a profile's numbers and linked ones
    if customer_id is not None:
        record.customer_id = customer_id
        log.info("call %s: the caller's number is a known customer's", record.call_id)
        log.debug("call %s: customer %s", record.call_id, customer_id)


@dataclass
class PhoneLine:
    transcriber: Transcriber
    synthesizer: Synthesizer
    conversation: Callable[..., Conversation]  # (channel=, customer_id=, caller=) → Conversation
    voicebot_settings: Settings
    store: Any = None  # voicebot.store.Store: caller identity, turn timings
    settings: PhoneSettings = field(default_factory=PhoneSettings)
    registry: CallRegistry = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        # Call records go to the store's database too: any phone process sharing it answers GET /calls/{uuid}.
        records = CallStore(self.store) if isinstance(self.store, StoreDatabase) else None
        self.registry = CallRegistry(max_announced=s.max_announced, store=records)
        workers = s.transcribe_workers or self.voicebot_settings.transcribe.workers
        self.pool = TranscriptionPool(self.transcriber, workers=workers)
        self.voice = SynthesisSlots(self.synthesizer, s.synthesis_slots, transcribing=self.pool.busy)
        self.executor = ThreadPoolExecutor(s.worker_threads, thread_name_prefix="phone")
        self.services = PhoneServices(
            registry=self.registry,
            pool=self.pool,
            synthesizer=self.voice,
            new_conversation=self._new_conversation,
            settings=self.voicebot_settings,
            session_settings=self._session_settings(),
            frame_ms=self.voicebot_settings.listen.frame_ms,
            executor=self.executor,
            store=self.store,
        )
        limit = s.max_calls if s.max_calls is not None else default_max_calls()
        self.admission = Admission(limit)
        self.busy = BusyServices(
            self.registry, self.voice, self.store, self.voicebot_settings.listen.frame_ms, default_replies()
        )
        self.audiosocket: AudioSocketServer | None = None
        self.twilio: TwilioServer | None = None
        self._http: web.AppRunner | None = None
        self.addresses: dict[str, tuple[str, int]] = {}
        self.api_token: ApiToken | None = None
        self._warming: asyncio.Future[int] | None = None

    def _session_settings(self) -> SessionSettings:
        opts = section(SessionSettings, "session", self.voicebot_settings)
        # A caller dialled us: a wake word (for a smart speaker in a room) makes no sense here.
        update: dict[str, Any] = {"wake_word": None}
        if opts.idle_timeout_s is None:
            update["idle_timeout_s"] = self.settings.silence_timeout_s
        return opts.model_copy(update=update)

    def _new_conversation(self, record: CallRecord) -> Conversation:
        identify_caller(record, self.store)
        return self.conversation(channel="phone", customer_id=record.customer_id, caller=record.caller)

    def new_call(self, leg: Leg, record: CallRecord) -> PhoneCall | BusyCall:
        if not self.admission.admit():
            log.warning("call %s: all %d lines are busy; answering busy", record.call_id, self.admission.limit)
            return BusyCall(leg, record, self.busy)
        call = PhoneCall(leg, record, self.services)
        call.on_end = self._call_ended
        return call

    def _call_ended(self) -> None:
        self.admission.release()
        # What the call's turns allocated goes back to the system (glibc keeps it otherwise).
        asyncio.get_running_loop().run_in_executor(self.executor, memory.trim, True)

    async def start(
        self,
        audiosocket: tuple[str, int] | None = None,
        twilio: tuple[str, int] | None = None,
        http: tuple[str, int] | None = None,
    ) -> dict[str, tuple[str, int]]:
        s = self.settings
        check_listeners({"audiosocket": audiosocket, "twilio": twilio}, s.audiosocket_peers, s.twilio_auth_token)
        networks = parse_networks(s.audiosocket_peers)
        # Dozens of session threads would each get a malloc arena of their own (up to 8 per
        # core), each holding on to what it once needed (voicebot.phone.memory).
        memory.limit_arenas()
        await asyncio.to_thread(memory.trim)  # what loading and warming the models left behind
        self._warming = asyncio.get_running_loop().run_in_executor(self.executor, self._warm_then_trim)
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(s.session_threads, thread_name_prefix="phone-session")
        )
        if audiosocket is not None:
            self.audiosocket = AudioSocketServer(
                self.registry,
                self.new_call,
                uuid_timeout_s=s.uuid_timeout_s,
                idle_timeout_s=s.idle_timeout_s,
                peer_allowed=lambda address: peer_allowed(address, networks),
            )
            self.addresses["audiosocket"] = await self.audiosocket.start(*audiosocket)
        if twilio is not None:
            assert s.twilio_auth_token is not None  # check_listeners refused a Twilio listener without it
            self.twilio = TwilioServer(
                self.registry,
                self.new_call,
                auth_token=s.twilio_auth_token,
                start_timeout_s=s.start_timeout_s,
                public_url=s.twilio_public_url,
                account_sid=s.twilio_account_sid,
            )
            self.addresses["twilio"] = await self.twilio.start(*twilio)
        if http is not None:
            self.api_token = api_token(s.api_token, self.voicebot_settings.data_dir)
            self._http = await start_http(
                self.registry, *http, token=self.api_token.value, stats=self.stats, metrics=self.metrics
            )
            server = self._http.addresses[0]
            self.addresses["http"] = (server[0], server[1])
        return self.addresses

    def stats(self) -> dict[str, Any]:
        """Admission (calls served, answered busy) and shared transcription: how many turns, how
        long they queued."""
        p = self.pool.stats
        return {
            "admission": self.admission.stats(),
            "transcription": {
                "requests": p.requests,
                "skipped": p.skipped,
                "awaited": p.awaited,  # run as turns their caller waited on (the rest: speculations)
                "longest_queue": p.longest_queue,
                "busy_s": round(p.busy_s, 3),
                "mean_wait_s": round(p.waited_s / p.requests, 3) if p.requests else 0.0,
            }
        }

    def _warm_then_trim(self) -> int:
        made = self.warm_phrase_cache()
        memory.trim(True)  # synthesizing them grew the heap; the audio kept is small
        return made

    def warm_phrase_cache(self, rate: int = 8000) -> int:
        """Synthesize the frequent replies (``cached_replies``, in English) at the phone's rate,
        cut as the Speaker cuts them, so the synthesizer's cache holds them, while no call is
        being served. Returns how many pieces were made."""
        from voicebot.dialogue.types import Reply
        from voicebot.reply_speech import reply_sentences

        replies = default_replies()
        made = 0
        for key in self.settings.cached_replies:
            texts = replies.texts["en"].get(key)
            if texts is None:
                log.warning("phone.cached_replies: no reply %r in en.yaml", key)
                continue
            for text in texts if isinstance(texts, list) else [texts]:
                filled = text.replace("{name}", "")  # the greeting without a known caller's name
                if "{" in filled:
                    continue  # filled in per call: nothing to cache
                for piece in reply_sentences(Reply(filled.strip())):
                    if self.admission.active:
                        # Calls came in: they fill the cache as they go, and the CPU is theirs.
                        log.info("phrase cache: %d sentences ready; the rest as calls say them", made)
                        return made
                    for _ in self.voice.synthesize_later(piece, rate, slack_s=float("inf")):
                        made += 1
        log.info("phrase cache: %d sentences of frequent replies ready", made)
        return made

    def metrics(self) -> bytes:
        """Prometheus text: the turn stage histograms of the process and the line's admission."""
        from prometheus_client import generate_latest

        return generate_latest(default_metrics().registry) + generate_latest(self.admission.registry)

    async def close(self) -> None:
        for server in (self.audiosocket, self.twilio):
            if server is not None:
                await server.close()
        if self._http is not None:
            await self._http.cleanup()
        self.pool.close()
        if self._warming is not None:
            self._warming.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)


def build_phone_line(runtime: Any, settings: PhoneSettings | None = None) -> PhoneLine:
    """A phone line on a voicebot.runtime.Runtime: its models, dialogue engine and store."""
    return PhoneLine(
        transcriber=runtime.transcriber,
        synthesizer=runtime.synthesizer,
        conversation=runtime.conversation,
        voicebot_settings=runtime.settings,
        store=runtime.store,
        settings=settings or PhoneSettings(),
    )
