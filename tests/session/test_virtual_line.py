"""The scripted customer line the demo, tests and benchmarks talk through: it never waits
forever for a reply that does not come."""

from __future__ import annotations

import asyncio

import numpy as np

from voicebot.channels.virtual import Cue, VirtualLine


def test_a_talk_over_cue_is_said_even_if_the_bot_never_replies_again() -> None:
    # The demo's last line talks over the bot's next reply. When a loaded machine put the bot out
    # of step (it had already answered), that reply never came and the demo hung for ten minutes.
    tone = (np.sin(np.arange(8000) * 0.2) * 3000).astype(np.int16)
    cue = Cue(tone, "goodbye", after="reply_start", delay_s=1.0)
    line = VirtualLine([cue], speed=200.0, max_wait_s=1.0, tail_s=0.2, max_s=60.0)

    async def listen() -> int:
        return sum([1 async for _ in line.frames()])

    frames = asyncio.run(listen())
    assert cue.onset is not None and cue.onset < 5.0, cue.onset  # said after 3 s of silence
    assert frames * 0.03 < 10.0  # and the line then ended, long before max_s


def test_the_next_cue_waits_while_the_bot_is_still_working_on_its_reply() -> None:
    # On a loaded machine the bot took longer than max_wait_s to start a reply: the next cue was
    # said over it, cut it off, and the call went out of step.
    tone = (np.sin(np.arange(8000) * 0.2) * 3000).astype(np.int16)
    first, second = Cue(tone, "first"), Cue(tone, "second")
    line = VirtualLine([first, second], speed=200.0, max_wait_s=1.0, tail_s=0.2, max_s=60.0)
    thinking_s = 10.0  # audio seconds the bot is busy after the first cue, sounding nothing

    def busy() -> bool:
        return first.speech_end is not None and line.t < first.speech_end + thinking_s

    line.busy = busy

    async def listen() -> int:
        return sum([1 async for _ in line.frames()])

    asyncio.run(listen())
    assert first.speech_end is not None and second.onset is not None
    assert second.onset >= first.speech_end + thinking_s, (first.speech_end, second.onset)
