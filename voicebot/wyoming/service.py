"""The Wyoming service assembled on a voicebot Runtime: its Whisper model (behind one shared
transcription queue), its voices (Piper, espeak-ng for the other reply languages; a bounded number of
sentences at once), its dialogue
engine and store; the listener; the zeroconf advertisement. Started and stopped together."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicebot.channels.phone.auth import ListenerRefused, is_loopback, peer_allowed
from voicebot.channels.phone.pool import SynthesisSlots, TranscriptionPool
from voicebot.config import Settings
from voicebot.customers import identify
from voicebot.models import resolve_voice, voice_locale
from voicebot.wyoming.conversations import Conversations
from voicebot.wyoming.discovery import Advertisement
from voicebot.wyoming.handle import ConversationAgent
from voicebot.wyoming.info import Offer, build_info, whisper_languages
from voicebot.wyoming.server import Services, WyomingServer, parse_uri
from voicebot.wyoming.settings import WyomingSettings
from voicebot.wyoming.tts import Voice, Voices
from voicebot.wyoming.wire import Limits

log = logging.getLogger(__name__)

CHANNEL = "wyoming"  # the channel name conversations are stored under


def wyoming_voices(settings: Settings, synthesizer: Any, slots: Any, languages: tuple[str, ...]) -> list[Voice]:
    """The voices as Wyoming names them, default first: each Piper voice (the model's file name
    and language) and espeak-ng's voice for each of ``languages`` (the dialogue's reply
    languages) that has no Piper voice. ``slots`` (the synthesizer behind a bounded number of
    sentences at once) speaks for all of them, told the language of the voice asked for."""
    listing = getattr(synthesizer, "listing", None)
    if listing is None:  # a single voice: the configured Piper voice
        onnx, cfg = resolve_voice(settings.speak.voice, settings.speak.voice_config)
        locale = voice_locale(cfg)
        name = Path(onnx).name.removesuffix(".onnx")
        return [Voice(name=name, languages=(locale,), synthesizer=slots,
                      rate=int(getattr(synthesizer, "native_rate", 22050)),
                      aliases=frozenset({settings.speak.voice}), description=f"{name} (Piper)")]
    out = []
    for i, v in enumerate(listing(languages)):
        engine = "Piper" if v.engine == "piper" else "espeak-ng"
        aliases = frozenset({settings.speak.voice}) if i == 0 else frozenset()
        out.append(Voice(name=v.name, languages=(v.locale,), synthesizer=slots, rate=v.rate, aliases=aliases,
                         description=f"{v.name} ({engine})", speaks=v.language, engine=v.engine))
    return out


def check_listener(host: str, peers: list[str]) -> None:
    """Refuse (ListenerRefused) a listener off loopback that would answer anyone: Wyoming has no
    authentication, so the networks allowed to connect must be named."""
    if not is_loopback(host) and not peers:
        raise ListenerRefused(
            f"Wyoming on {host} would answer anyone on the network (the protocol has no authentication): "
            "listen on 127.0.0.1, or list the networks of Home Assistant and the satellites in "
            "wyoming.peers (VOICEBOT_WYOMING__PEERS), e.g. [\"192.168.1.0/24\"]"
        )


@dataclass
class WyomingService:
    runtime: Any  # voicebot.runtime.Runtime
    settings: WyomingSettings = field(default_factory=WyomingSettings)
    zeroconf: bool | None = None  # None: settings.zeroconf

    def __post_init__(self) -> None:
        rt, s = self.runtime, self.settings
        transcriber = rt.transcriber
        self.pool = TranscriptionPool(transcriber, workers=s.transcribe_workers)
        handle_languages = tuple(rt.engine.replies.languages)  # the languages it can answer in
        slots = SynthesisSlots(rt.synthesizer, s.synthesis_slots)
        voices = wyoming_voices(rt.settings, rt.synthesizer, slots, handle_languages)
        multilingual = bool(getattr(transcriber, "multilingual", False))
        offer = Offer(rt.settings.transcribe.model, whisper_languages(multilingual), tuple(voices), handle_languages)
        networks = s.peer_networks()
        self.conversations = Conversations(self._new_conversation, s.conversation_idle_s, s.max_conversations)
        self.services = Services(
            info=build_info(offer),
            transcriber=self.pool,
            asr_languages=frozenset(offer.asr_languages) if multilingual else None,
            voices=Voices(voices),
            agent=ConversationAgent(self.conversations, rt.bridge.areas, s.satellite_areas, s.max_text_chars),
            limits=Limits(s.max_header_bytes, s.max_data_bytes, s.max_payload_bytes),
            max_audio_s=s.max_audio_s,
            max_audio_bytes=s.max_audio_bytes,
            max_text_chars=s.max_text_chars,
            idle_timeout_s=s.idle_timeout_s,
            max_connections=s.max_connections,
            listen=rt.settings.listen if s.speculate else None,
            peer_allowed=lambda address: peer_allowed(address, networks),
        )
        self.server = WyomingServer(self.services)
        self.advertisement: Advertisement | None = None

    def _new_conversation(self, area: str | None, language: str, satellite: str | None = None) -> Any:
        # A satellite linked to a customer (voicebot customers link --satellite) is theirs;
        # any other speaks for the household's customer_id.
        customer_id = identify(self.runtime.store, "satellite", satellite) or self.settings.customer_id
        return self.runtime.conversation(CHANNEL, customer_id=customer_id, speaker_area=area,
                                         language=language)

    async def start(self, uri: str | None = None) -> tuple[str, int]:
        host, port = parse_uri(uri or self.settings.uri)
        check_listener(host, self.settings.peers)
        # The understanding data loads on first use (seconds): load it now, not in the first turn.
        await asyncio.to_thread(self.runtime.engine.understander)
        bound = await self.server.start(host, port)
        if self.settings.zeroconf if self.zeroconf is None else self.zeroconf:
            try:
                self.advertisement = Advertisement(bound[1], host, self.settings.zeroconf_name,
                                                   self.settings.zeroconf_host)
            except (OSError, ValueError) as exc:  # an address that cannot be advertised
                log.warning("zeroconf: not advertising (%s)", exc)
            else:
                await self.advertisement.start()
        return bound

    async def close(self) -> None:
        if self.advertisement is not None:
            await self.advertisement.stop()
        await self.server.close()
        await self.conversations.close()
        self.pool.close()
