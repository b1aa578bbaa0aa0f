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
