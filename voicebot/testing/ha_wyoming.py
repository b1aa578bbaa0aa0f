"""Home Assistant's side of ``voicebot wyoming``, with the real ``wyoming`` client: the event
sequences its ``components/wyoming`` integration sends (stt.py, tts.py, conversation.py, data.py),
written anew for the tests and the benchmark."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

BYTES_PER_CHUNK = 2048  # Home Assistant forwards the pipeline's audio as it comes, ~64 ms at 16 kHz
TIMEOUT_S = 60.0


async def read_until(client: AsyncTcpClient, *types: str, timeout: float = TIMEOUT_S) -> list[Event]:
    """Every event up to and including the first of ``types``."""
    seen: list[Event] = []
    while True:
        event = await asyncio.wait_for(client.read_event(), timeout)
        if event is None:
            raise ConnectionError(f"connection closed before {types}; got {[e.type for e in seen]}")
        seen.append(event)
        if event.type in types:
            return seen


async def describe(host: str, port: int) -> Info:
    """data.py: describe → info, within the second Home Assistant waits."""
    async with AsyncTcpClient(host, port) as client:
        await client.write_event(Describe().event())
        events = await read_until(client, "info", timeout=1.0)
    return Info.from_event(events[-1])


@dataclass
class SttResult:
    text: str
    events: list[Event]
    stop_to_transcript_s: float


async def transcribe(host: str, port: int, pcm: bytes, rate: int = 16000, width: int = 2, channels: int = 1,
                     language: str | None = "en", realtime: bool = False,
                     chunk_bytes: int = BYTES_PER_CHUNK) -> SttResult:
    """stt.py: transcribe (language), audio-start, audio-chunks, audio-stop → read to transcript.
    ``realtime``: the chunks as a satellite streams them, each when its audio would have been said."""
    async with AsyncTcpClient(host, port) as client:
        await client.write_event(Transcribe(language=language).event())
        fmt = {"rate": rate, "width": width, "channels": channels}
        await client.write_event(AudioStart(**fmt).event())
        began = time.perf_counter()
        for i in range(0, len(pcm), chunk_bytes):
            if realtime:  # wait until this chunk's audio has been spoken
                await asyncio.sleep(max(0.0, began + i / (rate * width * channels) - time.perf_counter()))
            await client.write_event(AudioChunk(audio=pcm[i : i + chunk_bytes], **fmt).event())
        await client.write_event(AudioStop().event())
        stopped = time.perf_counter()
        events = await read_until(client, "transcript")
        took = time.perf_counter() - stopped
        events += await read_until(client, "transcript-stop")  # the streaming variant's end
    transcript = next(e for e in events if e.type == "transcript")
    return SttResult(Transcript.from_event(transcript).text, events, took)


@dataclass
class TtsResult:
    events: list[Event] = field(default_factory=list)
    first_chunk_s: float | None = None
    total_s: float = 0.0  # synthesize sent → audio-stop received

    def streams(self) -> list[np.ndarray]:
        """The audio of each audio-start … audio-stop, as int16."""
        out: list[list[bytes]] = []
        for e in self.events:
            if e.type == "audio-start":
                out.append([])
            elif e.type == "audio-chunk":
                out[-1].append(e.payload or b"")
        return [np.frombuffer(b"".join(parts), dtype="<i2") for parts in out]

    def rate(self) -> int:
        return int(next(e for e in self.events if e.type == "audio-start").data["rate"])


async def synthesize(host: str, port: int, text: str, voice: SynthesizeVoice | None = None) -> TtsResult:
    """tts.py (non-streaming): synthesize → read until audio-stop."""
    result = TtsResult()
    async with AsyncTcpClient(host, port) as client:
        sent = time.perf_counter()
        await client.write_event(Synthesize(text=text, voice=voice).event())
        while True:
            event = await asyncio.wait_for(client.read_event(), TIMEOUT_S)
            assert event is not None, "connection closed before audio-stop"
            if event.type == "audio-chunk" and result.first_chunk_s is None:
                result.first_chunk_s = time.perf_counter() - sent
            result.events.append(event)
            if event.type == "audio-stop":
                result.total_s = time.perf_counter() - sent
                return result


async def synthesize_streaming(host: str, port: int, pieces: list[str],
                               voice: SynthesizeVoice | None = None) -> TtsResult:
    """tts.py (streaming): synthesize-start, synthesize-chunk per piece of text, the whole text
    as synthesize, synthesize-stop; audio read until synthesize-stopped."""
    result = TtsResult()
    async with AsyncTcpClient(host, port) as client:
        await client.write_event(SynthesizeStart(voice=voice).event())
        for piece in pieces:
            await client.write_event(SynthesizeChunk(text=piece).event())
        await client.write_event(Synthesize(text="".join(pieces), voice=voice).event())
        await client.write_event(SynthesizeStop().event())
        result.events = await read_until(client, "synthesize-stopped")
    return result


async def converse(host: str, port: int, text: str, conversation_id: str, language: str = "en",
                   **context: Any) -> Event:
    """conversation.py: transcript with context (conversation id, device and satellite ids) →
    handled or not-handled."""
    async with AsyncTcpClient(host, port) as client:
        await client.write_event(
            Transcript(text, context={"conversation_id": conversation_id, **context}, language=language).event()
        )
        events = await read_until(client, "handled", "not-handled", "error")
    return events[-1]
