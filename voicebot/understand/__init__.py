"""Understanding: text → intent, slots, devices, sentiment, language.

``Understander(devices, areas).understand(text, context, speaker_area)`` is the entry point;
``ConversationContext`` carries what follow-ups refer to; ``sentiment.analyze`` and
``FrustrationTracker`` read how the customer feels. See docs/understand.md.
"""

from voicebot.understand.context import WHICH_DEVICE, YES_NO, ConversationContext, PendingQuestion
from voicebot.understand.sentiment import FrustrationTracker, analyze
from voicebot.understand.types import DEVICE_INTENTS, SUPPORT_INTENTS, Sentiment, Understanding
from voicebot.understand.understander import Understander

__all__ = [
    "DEVICE_INTENTS",
    "SUPPORT_INTENTS",
    "WHICH_DEVICE",
    "YES_NO",
    "ConversationContext",
    "FrustrationTracker",
    "PendingQuestion",
    "Sentiment",
    "Understander",
    "Understanding",
    "analyze",
]
