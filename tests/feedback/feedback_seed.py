"""A fortnight of realistic feedback for report tests and the sample report: three device
models and firmwares, with a firmware update that made things worse."""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path

from voicebot.feedback.analyze import analyze_text
from voicebot.feedback.store import FeedbackStore
from voicebot.privacy.redact import redact

SAYINGS = {
    ("T100", "1.4.2"): [
        "The thermostat works fine, the app is easy to use.",
        "I love how quiet the heating is now. Great product.",
        "Setting a schedule was confusing at first but it works.",
        "The temperature reading is a bit off, about two degrees too warm.",
        "Good value, the installation took ten minutes. Thank you!",
    ],
    ("T100", "1.5.0"): [
        "Since the update the thermostat keeps disconnecting from the wifi. So frustrating.",
        "After the update the heating does not work anymore. I'm returning it.",
        "The app crashes every time I open the schedule since the update. Ridiculous.",
        "My thermostat is sparking and I smell burning plastic, this is dangerous!",
        "Update failed and now the display is frozen. Very disappointed.",
        "It is okay I guess, the new screen looks nicer.",
    ],
    ("S200", "2.1"): [
        "The speaker sounds amazing, I'm very happy with it.",
        "Voice control doesn't understand me half of the time, I'm fed up.",
        "Great bass and easy setup, would recommend.",
        "The speaker drops out of the network every evening.",
        "My name is Peter Miller, call me on 555 867 5309, the speaker is broken.",
    ],
}


def seed_feedback(path: str | Path, days: int = 14, per_day: int = 4, now: float | None = None) -> int:
    rng = random.Random(7)
    now = now or time.time()
    store = FeedbackStore(path)
    n = 0
    try:
        for day in range(days, 0, -1):
            for k in range(per_day):
                # The 1.5.0 firmware ships halfway through the period.
                models = [("T100", "1.4.2") if day > days // 2 else ("T100", "1.5.0"), ("S200", "2.1")]
                model, firmware = models[k % 2]
                text = rng.choice(SAYINGS[(model, firmware)])
                a = analyze_text(text)
                at = now - day * 86400 + rng.uniform(0, 86000)
                n += 1
                store.add(
                    {
                        "device_id": f"{model.lower()}-{rng.randint(1, 30):03d}",
                        "clip_id": f"seed-{n}",
                        "audio_sha256": hashlib.sha256(f"seed-{n}".encode()).hexdigest(),
                        "model": model,
                        "firmware": firmware,
                        "locale": "en-US",
                        "recorded_at": at,
                        "received_at": at + 2,
                        "stored_at": at + 4,
                        "duration_s": 3.0 + rng.random() * 6,
                        "audio_format": "OGG/OPUS",
                        "transcript": redact(text),
                        "language": "en",
                        "confidence": 0.9,
                        "sentiment": a.sentiment,
                        "label": a.label,
                        "emotions": a.emotions,
                        "topics": a.topics.as_dict(),
                        "urgency": a.urgency,
                        "urgency_reasons": a.urgency_reasons,
                        "worker": "seed",
                        "audio": None,
                    }
                )
    finally:
        store.close()
    return n


def seed_conversations(path: str | Path) -> int:
    """Live conversations through the dialogue store, with per-turn sentiment."""
    from voicebot.store import Store

    turns = [
        ("The kitchen light won't turn on.", -0.2),
        ("I already tried that, it still doesn't work!", -0.6),
        ("Thanks, that fixed it.", 0.6),
        ("Turn on the living room lamp please.", 0.3),
        ("This is useless, get me a human.", -0.7),
    ]
    store = Store(path)
    try:
        for i in range(2):
            cid = store.start_conversation("phone" if i else "speaker", None, None)
            for text, sentiment in turns:
                store.add_turn(cid, text, "OK.", sentiment=sentiment)
            # What the dialogue records when someone gives feedback in a call (GiveFeedback).
            store.add_trace(cid, None, "feedback", None, {"feedback": "the new app is much easier to use"})
    finally:
        store.close()
    return 2 * len(turns)
