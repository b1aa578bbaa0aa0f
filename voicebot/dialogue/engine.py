"""The dialogue engine: builds conversations over one device bridge, store and set of playbooks.

    engine = DialogueEngine(bridge, store)
    conv = engine.conversation("phone", customer_id="c-17", caller="+4930123456")
    conv.greet().text; conv.handle("the hallway light won't come on").text

Shared by every conversation of a process and thread-safe; each Conversation is used by
one session at a time (from a worker thread, as it blocks on device confirmations).
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from device_bridge.devices import Device, DeviceControl
from voicebot.config import Settings, section
from voicebot.dialogue.capabilities import Capabilities, Publisher
from voicebot.dialogue.checks import AvailabilityLog
from voicebot.dialogue.corrections import LearnedNames
from voicebot.dialogue.playbook import Playbook, load_playbooks
from voicebot.dialogue.replies import Replies, default_replies
from voicebot.dialogue.rules import RulesConversation
from voicebot.dialogue.settings import DialogueSettings
from voicebot.dialogue.types import Opener, Opening
from voicebot.events import Stage, timed
from voicebot.store import Store
from voicebot.understand.context import ConversationContext
from voicebot.understand.sentiment import FrustrationTracker
from voicebot.understand.types import Understanding
from voicebot.understand.understander import Understander

log = logging.getLogger(__name__)


class UnderstandingStage(Protocol):
    """What the dialogue asks of the understanding stage (``voicebot.understand.Understander``)."""

    def understand(
        self, text: str, context: ConversationContext | None = None, speaker_area: str | None = None,
        language: str | None = None,
    ) -> Understanding: ...


def build_understander(bridge: DeviceControl, settings: DialogueSettings) -> Understander:
    """The understander over the bridge's live registry (it re-reads devices every turn) for the
    reply languages in ``settings``. Building one is slow (vocabularies, templates), so whoever runs
    many engines over one home builds it once and hands it to each (``understander=``)."""
    languages = [x for x in settings.languages if x != "en"]
    return Understander(bridge.devices, bridge.areas, languages=languages)


class DialogueEngine:
    def __init__(
        self,
        bridge: DeviceControl,
        store: Store,
        settings: DialogueSettings | Settings | None = None,
        understander: UnderstandingStage | None = None,
        publisher: Publisher | None = None,
        replies: Replies | None = None,
    ) -> None:
        if isinstance(settings, Settings):
            settings = section(DialogueSettings, "dialogue", settings)
        self.settings = settings or section(DialogueSettings, "dialogue")
        self.bridge = bridge
        self.store = store
        self.replies = replies or default_replies()
        self.playbooks: dict[str, Playbook] = load_playbooks(self.settings.playbook_dirs)
        self.publisher = publisher  # None: the bridge's own MQTT connection, looked up when a ticket goes out
        self._understander = understander
        self._lock = threading.Lock()
        self.availability = AvailabilityLog(bridge)  # devices that keep dropping off, for diagnosis
        self.learned = LearnedNames(store)  # names customers taught, per home ("the big light")
        self.openers: list[Opener] = []  # what a conversation starts from (proactive findings), first wins

    def opening(self, caps: Capabilities) -> Opening | None:
        """The first opener's opening for this conversation, if any has one."""
        for opener in list(self.openers):
            try:
                found = opener.opening(caps.customer_id, caps.channel, caps.language)
            except Exception:  # an opener is a help; it must never stop a conversation from starting
                log.exception("an opener failed for conversation %s", caps.conversation_id)
                continue
            if found is not None:
                return found
        return None

    def conversation(
        self,
        channel: str,
        customer_id: str | None = None,
        caller: str | None = None,
        speaker_area: str | None = None,
        language: str = "en",
    ) -> RulesConversation:
        customer = self.store.customer(customer_id) if customer_id else None
        if customer is None and caller:
            customer = self.store.customer_by_phone(caller)
            customer_id = customer.customer_id if customer else customer_id
        if customer is not None:
            speaker_area = speaker_area or customer.default_area
            language = customer.language if language == "en" else language
        if language not in self.replies.languages:
            language = "en"
        conversation_id = self.store.start_conversation(channel, customer_id, caller, language)
        caps = self.capabilities(conversation_id, customer_id, channel, caller, language)
        return RulesConversation(self, caps, speaker_area, customer.name if customer else None)

    def capabilities(
        self,
        conversation_id: str,
        customer_id: str | None = None,
        channel: str = "chat",
        caller: str | None = None,
        language: str = "en",
    ) -> Capabilities:
        """The tool set for one conversation (what the LLM policy calls)."""
        caps = Capabilities(
            self.bridge,
            self.store,
            self.settings,
            self.playbooks,
            self.replies,
            self.publisher,
            conversation_id,
            customer_id,
            channel,
            caller,
            language,
        )
        caps.availability = self.availability
        return caps

    # the understanding stage, as the conversations use it ----------------------------------
    def understander(self) -> UnderstandingStage:
        """The one given, else this engine's own, built on first use (see build_understander)."""
        with self._lock:
            if self._understander is None:
                self._understander = build_understander(self.bridge, self.settings)
            return self._understander

    def understand(
        self, text: str, context: ConversationContext, speaker_area: str | None, language: str | None = None
    ) -> Understanding:
        """``language``: the conversation's language when it is not English (else detected per turn).
        An ``understand`` stage event (voicebot.events) on the caller's bus, if it has one."""
        with timed(Stage.UNDERSTAND) as found:
            u = self.understander().understand(text, context, speaker_area, language=language)
            found.update(intent=u.intent)
        return u

    def new_context(self) -> ConversationContext:
        return ConversationContext()

    def new_frustration_tracker(self) -> FrustrationTracker:
        return FrustrationTracker()

    @staticmethod
    def update_frustration(tracker: FrustrationTracker, u: Understanding) -> bool:
        """Feed one turn to the frustration signal; True when frustration is sustained: over the
        tracker's threshold on at least two turns in a row (one sharp remark is not enough)."""
        tracker.update(u.sentiment, understood=u.intent is not None)
        return bool(tracker.frustrated) and tracker.negative_streak >= 2

    @staticmethod
    def note_device(context: ConversationContext, device: Device) -> None:
        """Tell the understanding context which device the dialogue just acted on ("turn it off")."""
        context.last_device_ids = [device.id]
        if device.area:
            context.last_area = device.area
