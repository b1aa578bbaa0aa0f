"""Live conversations, published for the agents' console while they happen, and the console's
commands back to them (stepping in).

Every process that holds conversations (phone line, smart speaker, demo) publishes each one as a
retained MQTT message on ``<prefix>/<conversation id>/state`` (prefix ``console.live_topic``,
``voicebot/live`` by default): a :class:`LiveSnapshot` with the transcript so far (the customer's
words redacted, as the store keeps them), sentiment, the playbook step, device commands with
their confirmed outcomes, and who has taken over. Retained, so a console started later sees the
conversations already under way; the whole snapshot each time, so a lost message loses nothing.
When the conversation ends a last snapshot says so and the retained message is cleared.

The console sends :class:`LiveControl` messages on ``<prefix>/<conversation id>/control``:
``take`` (the bot stops answering; the customer's speech keeps arriving as text), ``say`` (the
agent's text, spoken in the bot's voice and the conversation's language), ``device`` (turn a
device of the conversation on or off, through the same capabilities and confirmation rules as the
bot: a risky change needs the customer's confirmation, a forbidden device is never operated),
``hand_back`` and ``end``. The broker's ACL decides who may publish them (docs/console.md).

A spoken session (voicebot.session) and a web chat (voicebot.webchat) can be stepped into: they
register a :class:`LiveSession`; a typed session says ``typed = True`` (the agent's words are
shown, not spoken) and may also offer ``agent_joined(agent)`` and ``agent_left(agent)``, so that
the customer sees a person join and leave. Other text channels (chat, Wyoming) are watched only.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from voicebot.privacy.redact import redact

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "voicebot/live"
CONTROL_ACTIONS = ("take", "say", "device", "hand_back", "end")
DEVICE_INTENTS = {"HassTurnOn": "Turn on", "HassTurnOff": "Turn off"}  # what an agent may do to a device
MAX_ENTRIES = 200  # the transcript a snapshot carries (the store keeps all of it)
MAX_SAY = 1000  # characters of one agent message
MAX_TEXT_WATCHES = 500  # typed conversations followed at once per process (the oldest are let go)


@dataclass
class LiveEntry:
    """One line of the live transcript."""

    at: float
    who: str  # customer | bot | agent
    text: str
    agent: str | None = None  # for who == "agent"
    intent: str | None = None
    sentiment: float | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)  # device, changes, outcome
    ticket: str | None = None


@dataclass
class LiveSnapshot:
    conversation_id: str
    channel: str
    started_at: float
    updated_at: float
    language: str = "en"
    customer_id: str | None = None
    host: str = ""
    ended_at: float | None = None
    outcome: str | None = None
    taken_over_by: str | None = None
    can_step_in: bool = True  # a session (spoken, or the web chat); other text channels (chat, Wyoming) are watched only
    typed: bool = False  # the customer reads and writes (web chat, chat): an agent's words are shown, not spoken
    playbook: dict[str, str] | None = None  # id, title, step and device of the troubleshooting under way
    entries: list[LiveEntry] = field(default_factory=list)
    # The devices of this conversation and what an agent may do to them: id, name, area, type,
    # state, controls [{intent, label, changes, confirm}] (confirm: the customer must say yes first)
    devices: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, ensure_ascii=False)

    @classmethod
    def from_json(cls, payload: bytes | str) -> LiveSnapshot:
        """Raises ValueError on anything that is not a snapshot."""
        try:
            data = json.loads(payload)
            entries = [LiveEntry(**e) for e in data.pop("entries", [])]
            snap = cls(**data, entries=entries)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a live snapshot: {exc}") from None
        if not isinstance(snap.conversation_id, str) or not snap.conversation_id:
            raise ValueError("not a live snapshot: no conversation id")
        return snap

    @property
    def sentiments(self) -> list[float]:
        return [e.sentiment for e in self.entries if e.sentiment is not None]


@dataclass(frozen=True)
class LiveControl:
    action: str  # take | say | device | hand_back | end
    agent: str
    text: str = ""
    device_id: str = ""  # for "device"
    intent: str = ""  # for "device": HassTurnOn | HassTurnOff
    confirmed: bool = False  # for "device": the customer said yes to a risky change

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, payload: bytes | str) -> LiveControl:
        try:
            data = json.loads(payload)
            control = cls(str(data["action"]), str(data["agent"]), str(data.get("text") or ""),
                          str(data.get("device_id") or ""), str(data.get("intent") or ""),
                          data.get("confirmed") is True)
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"not a live control message: {exc}") from None
        if control.action not in CONTROL_ACTIONS:
            raise ValueError(f"unknown live control action {control.action!r}")
        if control.action == "say" and not control.text.strip():
            raise ValueError("a 'say' control message without text")
        if control.action == "device" and (not control.device_id or control.intent not in DEVICE_INTENTS):
            raise ValueError("a 'device' control message needs a device_id and an intent of " + ", ".join(DEVICE_INTENTS))
        return control


def state_topic(prefix: str, conversation_id: str) -> str:
    return f"{prefix}/{conversation_id}/state"


def control_topic(prefix: str, conversation_id: str) -> str:
    return f"{prefix}/{conversation_id}/control"


class Connection(Protocol):
    """The MQTT connection (device_bridge.client.MqttConnection) the snapshots go out on."""

    def publish(self, topic: str, payload: bytes | str = b"", qos: int = 1, retain: bool = False) -> Any: ...

    def subscribe(self, topic_filter: str, callback: Callable[[Any], None], qos: int = 1,
                  wait: float = 0.0) -> Any: ...

    def unsubscribe(self, sub: Any) -> None: ...


class LiveSession(Protocol):
    """What a watched session offers the console (voicebot.session.Session, voicebot.webchat's
    chats). Optional: ``typed`` (bool), ``agent_joined(agent)``, ``agent_left(agent)``."""

    def agent_says(self, text: str, language: str) -> None: ...

    def end_by_agent(self) -> None: ...

    def hold_bot(self) -> None: ...


class StoreTurns(Protocol):
    def add_turn(self, conversation_id: str, user_text: str, reply: str, intent: str | None = None,
                 slots: dict[str, Any] | None = None, actions: list[dict[str, Any]] | None = None,
                 sentiment: float | None = None, language: str | None = None,
                 handled_by: str | None = None, timings: dict[str, float] | None = None) -> None: ...


class LiveLink:
    """One per process: publishes the snapshots of its conversations and hands each console
    command to the conversation it is for."""

    def __init__(self, conn: Connection, store: StoreTurns | None = None, prefix: str = DEFAULT_PREFIX) -> None:
        self.conn, self.store, self.prefix = conn, store, prefix.rstrip("/")
        self.host = socket.gethostname()
        self._watches: dict[str, LiveWatch] = {}
        self._lock = threading.Lock()
        self._sub: Any = None

    def start(self) -> LiveLink:
        self._sub = self.conn.subscribe(f"{self.prefix}/+/control", self._on_control, qos=1, wait=2.0)
        return self

    def stop(self) -> None:
        if self._sub is not None:
            self.conn.unsubscribe(self._sub)
            self._sub = None

    def watch(self, session: LiveSession, conversation: Any, channel: str) -> LiveWatch:
        w = LiveWatch(self, session, conversation, channel)
        with self._lock:
            self._watches[w.snapshot.conversation_id] = w
        return w

    def text_watch(self, conversation: Any, channel: str) -> LiveWatch | None:
        """The watch of a conversation that no session holds (its turns come as text: chat, Wyoming,
        web chat), made on its first turn; None when a session watches it (it publishes itself)."""
        cid = str(getattr(conversation, "id", "") or "")
        if not cid:
            return None
        with self._lock:
            w = self._watches.get(cid)
            if w is None:
                self._forget_oldest_text_watches()
                w = self._watches[cid] = LiveWatch(self, None, conversation, channel)
                w.snapshot.can_step_in = False
                w.snapshot.typed = True
                created = True
            else:
                created = False
        if w.session is not None:
            return None
        if created:
            w.started(None)
        return w

    def _forget_oldest_text_watches(self, keep: int = MAX_TEXT_WATCHES) -> None:
        """Text channels may never say a conversation ended (a chat window closed): keep the newest."""
        text = [w for w in self._watches.values() if w.session is None]
        if len(text) >= keep:
            for w in sorted(text, key=lambda w: w.snapshot.updated_at)[: len(text) - keep + 1]:
                self._watches.pop(w.snapshot.conversation_id, None)

    def forget(self, conversation_id: str) -> None:
        with self._lock:
            self._watches.pop(conversation_id, None)

    def publish(self, snapshot: LiveSnapshot, retain: bool = True) -> None:
        try:
            self.conn.publish(state_topic(self.prefix, snapshot.conversation_id), snapshot.to_json(), qos=1,
                              retain=retain)
        except Exception:  # the console is a view: a conversation never fails because of it
            log.exception("could not publish live conversation %s", snapshot.conversation_id)

    def clear(self, conversation_id: str) -> None:
        try:
            self.conn.publish(state_topic(self.prefix, conversation_id), b"", qos=1, retain=True)
        except Exception:
            log.exception("could not clear live conversation %s", conversation_id)

    def _on_control(self, message: Any) -> None:
        parts = str(message.topic).split("/")
        conversation_id = parts[-2] if len(parts) >= 2 else ""
        with self._lock:
            w = self._watches.get(conversation_id)
        if w is None:
            return  # another process's conversation
        try:
            control = LiveControl.from_json(message.payload)
        except ValueError as exc:
            log.warning("live control for %s refused: %s", conversation_id, exc)
            return
        w.control(control)


class LiveWatch:
    """One conversation as the console sees it. The session calls it from its event loop; console
    commands arrive on the MQTT thread and are handed to that loop."""

    def __init__(self, link: LiveLink, session: LiveSession | None, conversation: Any, channel: str) -> None:
        self.link, self.session, self.conversation = link, session, conversation
        caps = getattr(conversation, "caps", None)
        now = time.time()
        self.snapshot = LiveSnapshot(
            conversation_id=str(getattr(conversation, "id", "") or f"unknown-{id(self)}"),
            channel=channel, started_at=now, updated_at=now,
            language=str(getattr(conversation, "language", "en") or "en"),
            customer_id=getattr(caps, "customer_id", None), host=link.host,
            typed=bool(getattr(session, "typed", False)),
        )
        self._loop: Any = None
        self._lock = threading.Lock()
        self._device_ids: list[str] = []  # the devices this conversation touched, in order

    @property
    def taken_over(self) -> bool:
        return self.snapshot.taken_over_by is not None

    def started(self, loop: Any) -> None:
        self._loop = loop
        self._publish()

    def bot_said(self, text: str) -> None:
        if text:
            self._add(LiveEntry(time.time(), "bot", text))

    def answered(self, user_text: str, reply: Any) -> None:
        """A turn the bot answered: the customer's words (redacted) and the bot's reply."""
        now = time.time()
        self.snapshot.language = str(getattr(reply, "language", None) or self.snapshot.language)
        actions = [{"device": a.device_name, "changes": a.changes, "outcome": str(a.outcome)}
                   for a in getattr(reply, "actions", [])]
        for a in getattr(reply, "actions", []):
            self._note_device(a.device_id)
        with self._lock:
            self.snapshot.entries.append(LiveEntry(now, "customer", redact(user_text),
                                                   intent=getattr(reply, "intent", None),
                                                   sentiment=getattr(reply, "sentiment", None)))
            self.snapshot.entries.append(LiveEntry(now, "bot", str(getattr(reply, "text", "")), actions=actions,
                                                   ticket=getattr(reply, "ticket_id", None)))
        self._publish()

    def customer_said(self, user_text: str) -> None:
        """The customer spoke while an agent has the conversation: text for the agent, no reply."""
        text = redact(user_text)
        self._add(LiveEntry(time.time(), "customer", text))
        self._store(text, "")

    def ended(self, outcome: str) -> None:
        now = time.time()
        self.snapshot.ended_at, self.snapshot.outcome = now, outcome
        self._publish(retain=False)
        self.link.clear(self.snapshot.conversation_id)
        self.link.forget(self.snapshot.conversation_id)

    # commands from the console (MQTT thread) ----------------------------------------------
    def control(self, control: LiveControl) -> None:
        if self._loop is None or self.session is None or self.snapshot.ended_at is not None:
            return  # nothing to step into: a text channel's turns are watched only
        self._loop.call_soon_threadsafe(self._apply, control)

    def _apply(self, c: LiveControl) -> None:
        assert self.session is not None
        if c.action == "take":
            self._take(c.agent)
            self._publish()
        elif c.action == "say":
            if self.snapshot.taken_over_by is None:
                self._take(c.agent)  # speaking for the bot is stepping in
            text = c.text.strip()[:MAX_SAY]
            self._add(LiveEntry(time.time(), "agent", text, agent=c.agent))
            self._store("", text, c.agent)
            self.session.agent_says(text, self.snapshot.language)
        elif c.action == "device":
            self._loop.run_in_executor(None, self._operate, c)  # waits for the device's confirmation
        elif c.action == "hand_back":
            had = self.snapshot.taken_over_by
            self.snapshot.taken_over_by = None
            if had is not None:
                self._tell("agent_left", had)
            self._publish()
        elif c.action == "end":
            self.session.end_by_agent()

    def _take(self, agent: str) -> None:
        assert self.session is not None
        before = self.snapshot.taken_over_by
        self.snapshot.taken_over_by = agent
        self.session.hold_bot()
        if before != agent:
            self._tell("agent_joined", agent)

    def _tell(self, hook: str, agent: str) -> None:
        """The session's optional hook (a typed session shows the customer who joined or left)."""
        fn = getattr(self.session, hook, None)
        if callable(fn):
            try:
                fn(agent)
            except Exception:
                log.exception("conversation %s: %s failed", self.snapshot.conversation_id, hook)

    def _operate(self, c: LiveControl) -> None:
        caps = getattr(self.conversation, "caps", None)
        allowed = {d["id"]: d for d in self.snapshot.devices}
        if caps is None or c.device_id not in allowed:
            self._add(LiveEntry(time.time(), "agent", f"{c.device_id}: not a device of this conversation", agent=c.agent))
            return
        control = next((x for x in allowed[c.device_id]["controls"] if x["intent"] == c.intent), None)
        if control is None:
            self._add(LiveEntry(time.time(), "agent", f"{allowed[c.device_id]['name']}: not allowed", agent=c.agent))
            return
        try:
            out = caps.set_state(c.device_id, dict(control["changes"]), f"agent {c.agent} in the console",
                                 confirmed=c.confirmed)
            status, text = str(out.status), out.text
        except Exception as exc:  # a dead bridge is an outcome to show, never a crash
            log.exception("agent command on %s failed", c.device_id)
            status, text = "failed", str(exc)
        if status == "needs_confirmation":
            text = f"Not sent: the customer must confirm first ({text})"
        self._add(LiveEntry(time.time(), "agent", text, agent=c.agent,
                            actions=[{"device": allowed[c.device_id]["name"], "changes": control["changes"],
                                      "outcome": status}]))

    def _note_device(self, device_id: str | None) -> None:
        if device_id and device_id not in self._device_ids:
            self._device_ids.append(device_id)

    def _devices(self) -> list[dict[str, Any]]:
        caps = getattr(self.conversation, "caps", None)
        run = getattr(caps, "run", None)
        if run is not None and getattr(run, "device", None) is not None:
            self._note_device(run.device.id)
        if caps is None:
            return []
        from voicebot.dialogue.commands import changes_for

        out = []
        for did in self._device_ids[-8:]:
            try:
                device = caps.device(did)
                state = dict(caps.bridge.get(did).state)
            except Exception:
                continue
            controls = []
            if not caps.forbidden(device):
                for intent, label in DEVICE_INTENTS.items():
                    try:
                        changes = changes_for(intent, {}, device, state)
                    except Exception:  # not applicable to this device (a sensor, a scene)
                        continue
                    risk = caps.risk(device, changes)
                    if risk != "forbid":
                        controls.append({"intent": intent, "label": label, "changes": changes,
                                         "confirm": risk == "confirm"})
            out.append({"id": device.id, "name": device.name, "area": device.area, "type": str(device.type),
                        "state": state.get("state"), "controls": controls})
        return out

    # -------------------------------------------------------------------------------------
    def _add(self, entry: LiveEntry) -> None:
        with self._lock:
            self.snapshot.entries.append(entry)
        self._publish()

    def _publish(self, retain: bool = True) -> None:
        with self._lock:
            self.snapshot.updated_at = time.time()
            del self.snapshot.entries[:-MAX_ENTRIES]
            self.snapshot.playbook = _playbook(self.conversation)
            try:
                self.snapshot.devices = self._devices()
            except Exception:  # the controls are a convenience; the transcript must still go out
                log.exception("could not list the devices of conversation %s", self.snapshot.conversation_id)
        self.link.publish(self.snapshot, retain=retain)

    def _store(self, user_text: str, reply: str, agent: str | None = None) -> None:
        if self.link.store is None:
            return
        who = agent or self.snapshot.taken_over_by or "agent"
        try:
            self.link.store.add_turn(self.snapshot.conversation_id, user_text, reply, language=self.snapshot.language,
                                     handled_by=f"agent:{who}")
        except Exception:
            log.exception("could not store an agent turn of conversation %s", self.snapshot.conversation_id)


def _playbook(conversation: Any) -> dict[str, str] | None:
    run = getattr(getattr(conversation, "caps", None), "run", None)
    if run is None or getattr(run, "finished", None):
        return None
    book = getattr(run, "book", None)
    device = getattr(run, "device", None)
    return {"id": str(getattr(book, "id", "")), "title": str(getattr(book, "title", "")),
            "step": str(getattr(run, "step_id", "")), "device": str(getattr(device, "name", "") or "").lower()}


def text_turn(conversation: Any, user_text: str, reply: Any) -> None:
    """A turn the dialogue answered (voicebot.dialogue.rules): published when no session watches
    the conversation, so text channels are seen live too."""
    link = _current
    if link is None:
        return
    try:
        channel = str(getattr(getattr(conversation, "caps", None), "channel", "") or "text")
        w = link.text_watch(conversation, channel)
        if w is not None:
            w.answered(user_text, reply)
    except Exception:  # the console is a view: the conversation goes on without it
        log.exception("could not publish a turn of conversation %s", getattr(conversation, "id", "?"))


def text_end(conversation: Any, outcome: str) -> None:
    link = _current
    if link is None:
        return
    with link._lock:
        w = link._watches.get(str(getattr(conversation, "id", "") or ""))
    if w is not None and w.session is None:
        try:
            w.ended(outcome)
        except Exception:
            log.exception("could not publish the end of conversation %s", getattr(conversation, "id", "?"))


# The process's link, set by voicebot.runtime when it starts: every session of the process is watched.
_current: LiveLink | None = None


def current_link() -> LiveLink | None:
    return _current


def start_link(conn: Connection | None, store: StoreTurns | None, prefix: str) -> Callable[[], None]:
    """Start publishing this process's conversations on ``conn``; returns the function that stops it."""
    global _current
    if conn is None:
        return lambda: None
    link = LiveLink(conn, store, prefix).start()
    _current = link

    def stop() -> None:
        global _current
        link.stop()
        if _current is link:
            _current = None

    return stop
