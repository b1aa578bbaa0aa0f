"""``voicebot wyoming`` as Home Assistant uses it: describe, speech to text on real recordings,
text to speech with the Piper voice, and the conversation agent controlling the simulated demo
home over a real broker, all through the ``wyoming`` package's own client."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from wyoming.tts import SynthesizeVoice

from tests.waiting import until
from voicebot.audio import read_audio, resample
from voicebot.testing.ha_wyoming import converse, describe, synthesize, synthesize_streaming, transcribe
from voicebot.wer import word_error_rate

JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


# --- describe ---------------------------------------------------------------------------------
def test_describe_lists_speech_to_text_text_to_speech_and_the_conversation_agent(wyoming_server) -> None:
    started = time.perf_counter()
    info = asyncio.run(describe(wyoming_server.host, wyoming_server.port))
    assert time.perf_counter() - started < 1.0

    (asr,) = info.asr
    assert asr.installed and asr.version and asr.attribution.name
    assert asr.models[0].installed and asr.models[0].name == "tiny.en" and asr.models[0].languages == ["en"]
    assert asr.supports_transcript_streaming

    (tts,) = info.tts
    assert tts.installed and tts.supports_synthesize_streaming
    voices = {v.name: (v.languages, v.installed, v.attribution.name) for v in tts.voices}
    assert tts.voices[0].name == "en_US-joe-medium"  # the default voice first
    assert voices["en_US-joe-medium"] == (["en_US"], True, "Piper")
    # the reply languages without a Piper voice are spoken by espeak-ng
    assert voices["espeak-ng-de"] == (["de"], True, "eSpeak NG")
    assert voices["espeak-ng-es"] == (["es"], True, "eSpeak NG")

    (handle,) = info.handle
    assert handle.installed and handle.supports_home_control and handle.version
    assert {"en", "de", "es"} <= set(handle.models[0].languages)


# --- speech to text ---------------------------------------------------------------------------
def test_the_jfk_recording_transcribes_as_home_assistant_streams_it(wyoming_server, shared_audio: Path) -> None:
    pcm = read_audio(shared_audio / "jfk.flac")  # 16 kHz mono int16, what Home Assistant sends
    result = asyncio.run(transcribe(wyoming_server.host, wyoming_server.port, pcm.tobytes()))
    assert word_error_rate(JFK, result.text) < 0.15, result.text
    # the streaming variant around it: start, the text in chunks, the transcript, stop
    types = [e.type for e in result.events]
    assert types[0] == "transcript-start" and types[-2:] == ["transcript", "transcript-stop"], types
    chunks = " ".join(e.data["text"] for e in result.events if e.type == "transcript-chunk")
    assert chunks == result.text


def test_audio_at_the_recordings_own_rate_width_and_channels_is_converted_at_the_edge(
    wyoming_server, shared_audio: Path
) -> None:
    # 48 kHz stereo, sent as 32-bit samples: the service converts it, the client need not
    samples, rate = sf.read(shared_audio / "what_time_is_it.wav", dtype="int32", always_2d=True)
    assert rate == 48000 and samples.shape[1] == 2
    raw = samples.astype("<i4").tobytes()
    result = asyncio.run(transcribe(wyoming_server.host, wyoming_server.port, raw, rate=rate, width=4, channels=2))
    assert word_error_rate("what time is it", result.text) == 0.0, result.text


def test_chunks_that_split_samples_are_joined_before_reading(wyoming_server, shared_audio: Path) -> None:
    # odd-sized chunks cut samples in two: only the whole stream is read as samples
    pcm = read_audio(shared_audio / "turn_on_living_room_lamp.wav")
    pcm = np.concatenate([pcm, np.zeros(11200, dtype=np.int16)])  # and the silence before audio-stop
    result = asyncio.run(transcribe(wyoming_server.host, wyoming_server.port, pcm.tobytes(), chunk_bytes=1001))
    assert word_error_rate("turn on the living room lamp", result.text) == 0.0, result.text


def test_silence_gives_an_empty_transcript_not_an_invented_one(wyoming_server) -> None:
    rng = np.random.default_rng(7)
    hiss = (rng.normal(0, 30, 16000 * 2)).astype("<i2")  # two seconds of a quiet room
    result = asyncio.run(transcribe(wyoming_server.host, wyoming_server.port, hiss.tobytes()))
    assert result.text == ""


# --- text to speech ---------------------------------------------------------------------------
def test_synthesize_returns_the_voice_saying_the_text(wyoming_server, transcriber) -> None:
    text = "The kitchen light is back on. Anything else?"
    result = asyncio.run(synthesize(wyoming_server.host, wyoming_server.port, text))
    types = [e.type for e in result.events]
    assert types[0] == "audio-start" and types[-1] == "audio-stop" and types.count("audio-start") == 1
    (audio,) = result.streams()
    rate = result.rate()
    assert rate == 22050 and len(audio) / rate >= 0.5
    heard = transcriber.transcribe(resample(audio, rate, 16000)).text
    assert word_error_rate(text, heard) < 0.2, heard


def test_streaming_synthesis_speaks_each_sentence_as_it_completes(wyoming_server) -> None:
    # the text arrives in pieces, as an LLM writes it; the whole text comes again as synthesize
    pieces = ["Sure", ", I can", " help with that.", " First, switch", " the lamp off", " and on again."]
    result = asyncio.run(synthesize_streaming(wyoming_server.host, wyoming_server.port, pieces))
    types = [e.type for e in result.events]
    assert types[-1] == "synthesize-stopped"
    assert types.count("audio-start") == 2 == types.count("audio-stop"), types  # one per sentence, none twice
    assert all(len(a) / 22050 > 0.4 for a in result.streams())


def test_streaming_synthesis_starts_before_the_text_is_complete(wyoming_server) -> None:
    async def first_sentence_early() -> list[str]:
        from wyoming.client import AsyncTcpClient
        from wyoming.tts import SynthesizeChunk, SynthesizeStart, SynthesizeStop

        from voicebot.testing.ha_wyoming import read_until

        async with AsyncTcpClient(wyoming_server.host, wyoming_server.port) as client:
            await client.write_event(SynthesizeStart().event())
            await client.write_event(SynthesizeChunk(text="Hello there. And").event())
            early = await read_until(client, "audio-stop")  # before the rest of the text is sent
            await client.write_event(SynthesizeChunk(text=" goodbye.").event())
            await client.write_event(SynthesizeStop().event())
            late = await read_until(client, "synthesize-stopped")
        return [e.type for e in early + late]

    types = asyncio.run(first_sentence_early())
    assert types.count("audio-stop") == 2 and types[-1] == "synthesize-stopped"


def test_a_voice_is_chosen_by_name_or_language(wyoming_server) -> None:
    from voicebot.espeak_voice import EspeakSynthesizer

    for voice in (SynthesizeVoice(name="en_US-joe-medium"), SynthesizeVoice(language="en_US"), SynthesizeVoice(name="joe")):
        result = asyncio.run(synthesize(wyoming_server.host, wyoming_server.port, "Okay.", voice))
        assert len(result.streams()[0]) > 0
    # German asked for, by language as Home Assistant's pipeline does or by name: espeak-ng's German voice
    german = EspeakSynthesizer.for_language("de").speak_all("Das Licht ist an.", 22050)
    for voice in (SynthesizeVoice(language="de"), SynthesizeVoice(language="de_DE"), SynthesizeVoice(name="espeak-ng-de")):
        result = asyncio.run(synthesize(wyoming_server.host, wyoming_server.port, "Das Licht ist an.", voice))
        assert result.rate() == 22050 and np.array_equal(result.streams()[0], german), voice


# --- conversation -----------------------------------------------------------------------------
def light_on(rt, device_id: str = "kitchen_light") -> bool:
    return str(rt.bridge.get(device_id).state.get("state", "")).lower() == "on"


def test_a_command_is_handled_and_a_follow_up_on_the_same_conversation_uses_its_context(
    wyoming_server, wyoming_runtime
) -> None:
    host, port = wyoming_server.host, wyoming_server.port
    first = asyncio.run(converse(host, port, "turn on the kitchen light", "ha-conv-1"))
    assert first.type == "handled", first
    assert first.data["context"]["conversation_id"] == "ha-conv-1"
    assert until(lambda: light_on(wyoming_runtime), 5.0)
    second = asyncio.run(converse(host, port, "turn it off again", "ha-conv-1"))
    assert second.type == "handled", second
    assert until(lambda: not light_on(wyoming_runtime), 5.0)


def test_a_satellite_linked_to_a_customer_speaks_for_them_and_continues_their_thread(
    wyoming_server, wyoming_runtime
) -> None:
    """One customer across channels: the satellite id is theirs (voicebot customers link
    --satellite), so its conversation is theirs, and "it" is the device their last conversation,
    on another channel, was about."""
    from voicebot.customers import IdentityBook
    from voicebot.store import Customer

    rt = wyoming_runtime
    rt.store.save_customer(Customer("c-satellite", "Robin"))
    IdentityBook(rt.store).link("c-satellite", "satellite", "assist_satellite.robins_voice")
    chat = rt.conversation("web", customer_id="c-satellite")
    assert chat.handle("turn on the kitchen light").actions
    chat.end("resolved")
    host, port = wyoming_server.host, wyoming_server.port
    reply = asyncio.run(converse(host, port, "turn it off", "ha-conv-robin", satellite_id="assist_satellite.robins_voice"))
    assert reply.type == "handled", reply
    assert until(lambda: not light_on(rt), 5.0)
    stored = [t for t in rt.store.trace(customer_id="c-satellite", kind="command") if t.device_id == "kitchen_light"]
    assert len(stored) == 2  # on from the chat, off from the satellite: both the same customer's


def test_the_transcript_is_made_at_the_pause_and_dropped_when_speech_resumes(
    wyoming_server, shared_audio: Path, caplog
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="voicebot.wyoming")
    host, port = wyoming_server.host, wyoming_server.port
    lamp = read_audio(shared_audio / "turn_on_living_room_lamp.wav")
    question = read_audio(shared_audio / "what_time_is_it.wav")
    silence = np.zeros(int(16000 * 0.7), dtype=np.int16)  # what Home Assistant sends before audio-stop

    # one command and its trailing silence: transcribed at the pause
    result = asyncio.run(transcribe(host, port, np.concatenate([lamp, silence]).tobytes()))
    assert word_error_rate("turn on the living room lamp", result.text) == 0.0, result.text
    assert until(lambda: "transcribed at the pause" in caplog.text, 5.0)
    caplog.clear()
    # a pause, then more speech: the transcript at the pause is not the answer
    both = np.concatenate([lamp, silence, question, silence])
    result = asyncio.run(transcribe(host, port, both.tobytes()))
    assert word_error_rate("turn on the living room lamp what time is it", result.text) <= 0.2, result.text
