"""Prefer local: the rules answer what they understand, the LLM takes the rest.

``LLMConversation`` wraps the engine's ``RulesConversation`` and implements the same
Conversation protocol. Per turn it decides who answers:

- the rules, whenever the engine is in the middle of something it owns (a pending
  confirmation or question, a troubleshooting run, the end of the conversation), when the
  customer mentions danger, asks for a human or asks why something was done, and, in
  "fallback" mode, whenever the rules understood the turn with enough confidence;
- the LLM otherwise, with the tools of tools.py.

Any failure of the LLM part (endpoint down or slow, malformed or unknown tool calls, an empty
answer, the turn's time budget spent) hands the turn to the rules before anything is said, and
the reason is logged and traced. Every turn's routing, the tools called and any fallback are
kept in ``trace`` and in the store's trace (kind "llm"), which is what "why did you do that?"
and the agent reading a ticket rely on.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from voicebot.dialogue.llm.client import ChatEndpoint, LLMUnavailable, ModelTurn
from voicebot.dialogue.llm.prompt import (
    customer_message,
    data,
    system_message,
    tool_request_message,
    tool_result_message,
)
from voicebot.dialogue.llm.settings import LLMSettings
from voicebot.dialogue.llm.tools import TOOL_SCHEMAS, BadToolCall, ToolOutcome, ToolRunner
from voicebot.dialogue.rules import RulesConversation
from voicebot.dialogue.safety import detect_danger
from voicebot.dialogue.types import Reply
from voicebot.understand.types import Understanding

log = logging.getLogger(__name__)

MAX_DEVICES_IN_PROMPT = 30
RULES_ONLY_INTENTS = ("AskHuman", "AskWhy")  # deterministic answers the customer relies on


@dataclass
class TurnTrace:
    """Who answered one turn, and what the LLM did in it."""

    user: str  # redacted
    handled_by: str  # "llm" | "rules"
    route: str  # why this policy answered
    tools: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)  # device commands sent this turn
    fallback: str | None = None  # why the LLM's attempt was abandoned
    elapsed_s: float = 0.0
    first_text_s: float | None = None  # when the first words of the reply existed


@dataclass
class StreamedReply(Reply):
    """A reply whose text is still being written: ``text_stream`` yields it piece by piece
    (voicebot.session speaks each sentence as it completes). ``text`` is whole once the
    stream is exhausted or closed."""

    text_stream: Iterator[str] | None = None


class LLMConversation:
    """One conversation: the rules conversation, with the LLM for the turns it should take."""

    def __init__(self, rules: RulesConversation, settings: LLMSettings, endpoint: ChatEndpoint | None = None) -> None:
        self.rules = rules
        self.settings = settings
        self.endpoint = endpoint or ChatEndpoint(settings)
        self.id = rules.id
        self.trace: list[TurnTrace] = []

    def __getattr__(self, name: str) -> Any:
        # Everything else (pending, escalated, outcome, caps...) is the rules conversation's.
        return getattr(self.rules, name)

    # the Conversation protocol ------------------------------------------------------------
    def greet(self) -> Reply:
        return self.rules.greet()

    def handle_dtmf(self, digit: str) -> Reply:
        return self.rules.handle_dtmf(digit)

    def end(self, outcome: str) -> None:
        self.rules.end(outcome)

    def handle(self, text: str) -> Reply:
        """A complete reply (the LLM's answer, if any, is read to its end first)."""
        reply = self.handle_streaming(text)
        if isinstance(reply, StreamedReply) and reply.text_stream is not None:
            for _ in reply.text_stream:
                pass
        return reply

    def handle_streaming(self, text: str) -> Reply:
        """Like handle, but an LLM answer comes back as soon as its first words exist, with the
        rest in ``text_stream``; tools and device actions are all done before this returns."""
        started = time.monotonic()
        route, u, reason = self._route(text)
        if route == "rules":
            reply = self.rules.handle(text)
            self._remember(TurnTrace(self.rules._redact(text), "rules", reason, elapsed_s=time.monotonic() - started), reply)
            return reply
        assert u is not None
        turn = TurnTrace(self.rules._redact(text), "llm", reason)
        try:
            return self._llm_turn(text, u, turn, started)
        except (LLMUnavailable, BadToolCall) as exc:
            why = exc.reason if isinstance(exc, LLMUnavailable) else str(exc)
            log.warning("LLM turn handed to the rules after %.2f s: %s", time.monotonic() - started, why)
            return self._fallback(text, turn, why, started)
        except Exception as exc:  # a bug in this policy must not cost the customer their answer
            log.exception("LLM turn failed; the rules answer")
            return self._fallback(text, turn, f"internal error: {exc!r}", started)

    def _fallback(self, text: str, turn: TurnTrace, why: str, started: float) -> Reply:
        self.rules.turns -= 1  # the rules count this turn themselves
        reply = self.rules.handle(text)
        turn.handled_by, turn.fallback = "rules", why
        turn.elapsed_s = time.monotonic() - started
        self._remember(turn, reply)
        return reply

    # routing --------------------------------------------------------------------------------
    def _route(self, text: str) -> tuple[str, Understanding | None, str]:
        r = self.rules
        if not self.settings.enabled:
            return "rules", None, "no LLM configured"
        if r.ended or not text.strip():
            return "rules", None, "nothing for the LLM to do"
        if r.pending is not None:
            return "rules", None, f"the engine is waiting for an answer ({r.pending.kind})"
        if r.caps.run is not None:
            return "rules", None, "troubleshooting in progress"
        if detect_danger(text) is not None:
            return "rules", None, "safety words"
        u = r.engine.understand(text, r.context, r.speaker_area)
        if u.intent in RULES_ONLY_INTENTS:
            return "rules", u, f"{u.intent} is answered by the rules"
        if self.settings.mode == "fallback" and u.intent is not None and u.confidence >= r.caps.settings.min_confidence:
            return "rules", u, f"understood by the rules ({u.intent}, {u.confidence:.2f})"
        if self.settings.mode == "always":
            return "llm", u, "mode always"
        return "llm", u, "not understood by the rules" if u.intent is None else f"low confidence ({u.confidence:.2f})"

    # the LLM's turn --------------------------------------------------------------------------
    def _llm_turn(self, text: str, u: Understanding, turn: TurnTrace, started: float) -> Reply:
        r = self.rules
        deadline = started + self.settings.turn_timeout_s
        r.turns += 1
        r._current = r._redact(text)
        recent = set(getattr(r.context, "last_device_ids", None) or [])
        runner = ToolRunner(r, text, recent)
        messages = self._messages(r._current)
        lookups: list[dict[str, Any]] = []
        touched: list[str] = []
        for round_no in range(self.settings.max_tool_rounds):
            if self.settings.stream_tools:
                answer, pieces = self.endpoint.choose_streaming(messages, TOOL_SCHEMAS, deadline)
                if pieces is not None:
                    return self._streamed_reply(text, u, turn, pieces, touched, started)
            else:
                answer = self.endpoint.choose(messages, TOOL_SCHEMAS, deadline)
            if not answer.tool_calls:
                spoken = speakable(answer.text)
                if not spoken:
                    raise LLMUnavailable("the model gave an empty answer")
                turn.first_text_s = time.monotonic() - started
                return self._finish(text, u, turn, Reply(text=spoken, handled_by="llm"), touched, started)
            outcomes = self._run_calls(answer, runner, messages, turn)
            touched += [d for o in outcomes for d in o.device_ids]
            actions = [o for o in outcomes if o.reply is not None]
            if actions:
                turn.first_text_s = time.monotonic() - started
                return self._finish(text, u, turn, merge([o.reply for o in actions if o.reply]), touched, started)
            lookups += [{"tool": o.name, "arguments": o.arguments, "status": o.status, **o.data} for o in outcomes]
            # Only a search for devices usually leads to another tool; other lookups are answered now.
            if any(o.name != "find_devices" for o in outcomes) or round_no == self.settings.max_tool_rounds - 1:
                break
        return self._stream_answer(text, u, turn, r._current, lookups, touched, started, deadline)

    def _run_calls(self, answer: ModelTurn, runner: ToolRunner, messages: list[dict[str, Any]], turn: TurnTrace) -> list[ToolOutcome]:
        outcomes: list[ToolOutcome] = []
        wire = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.raw_arguments or "{}"}}
            for c in answer.tool_calls
        ]
        messages.append(tool_request_message(answer.text, wire))
        for call in answer.tool_calls:
            try:
                outcome = runner.run(call.name, call.arguments)
            except BadToolCall as exc:
                turn.tools.append({"tool": call.name, "arguments": call.raw_arguments[:300], "status": "bad_call", "error": str(exc)})
                if any(o.reply is not None for o in outcomes):
                    # Something was already done this turn: say that, rather than let the rules act again.
                    log.warning("ignored a bad tool call after an action: %s", exc)
                    continue
                raise
            turn.tools.append(outcome.trace())
            outcomes.append(outcome)
            messages.append(tool_result_message(call.id, {"status": outcome.status, **outcome.data}))
        return outcomes

    def _stream_answer(
        self,
        text: str,
        u: Understanding,
        turn: TurnTrace,
        redacted: str,
        lookups: list[dict[str, Any]],
        touched: list[str],
        started: float,
        deadline: float,
    ) -> Reply:
        """The final answer without tools (servers may not stream with tools), streamed."""
        messages = self._messages(redacted, lookups)
        return self._streamed_reply(text, u, turn, self.endpoint.stream(messages, deadline), touched, started)

    def _streamed_reply(
        self, text: str, u: Understanding, turn: TurnTrace, pieces: Iterator[str], touched: list[str], started: float
    ) -> Reply:
        first, held = "", ""
        for piece in pieces:
            text, held = _release(held + piece)
            first += text
            if first.strip():
                break
        if not first.strip():
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
            # The first words are awaited here, so a failure before any still falls back to the rules.
            raise LLMUnavailable("the model's streamed answer was empty")
        turn.first_text_s = time.monotonic() - started
        # the language now, not at the end of the stream: the Speaker picks the voice by it at the start
        reply = StreamedReply(text="", handled_by="llm", language=self.rules.language)
        reply.text_stream = self._rest(text, u, turn, reply, first, held, pieces, touched, started)
        return reply

    def _rest(
        self,
        text: str,
        u: Understanding,
        turn: TurnTrace,
        reply: StreamedReply,
        first: str,
        held: str,  # the start of an HTML entity, held back until it is complete
        pieces: Iterator[str],
        touched: list[str],
        started: float,
    ) -> Iterator[str]:
        written = [first]
        try:
            yield first
            for piece in pieces:
                text, held = _release(held + piece)
                if text:
                    written.append(text)
                    yield text
            if held:
                written.append(_clean(held))
                yield _clean(held)
        except LLMUnavailable as exc:
            # Words were already spoken: end the reply where it broke off.
            turn.fallback = f"answer cut short: {exc.reason}"
            log.warning("LLM answer cut short: %s", exc.reason)
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
            reply.text = speakable("".join(written)) or first.strip()
            reply.text_stream = None
            self._finish(text, u, turn, reply, touched, started)

    def _messages(self, redacted: str, lookups: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        r = self.rules
        devices: dict[str, list[str]] = {}
        listed = r.caps.bridge.devices()[:MAX_DEVICES_IN_PROMPT] if self.settings.devices_in_prompt else []
        for d in listed:
            devices.setdefault(d.area or "no area", []).append(f"{d.name} ({d.type.value})")
        messages = [system_message(devices)]
        history = r.caps.facts.transcript[-self.settings.history_turns :] if self.settings.history_turns else []
        for past in history:
            messages.append(customer_message(past["user"]))
            messages.append({"role": "assistant", "content": past["bot"]})
        if lookups:
            # Before the customer's words, so the model answers them, with the results as context.
            messages.append({"role": "system", "content": "Lookups made for the next question, DATA: " + data(lookups)})
        messages.append(customer_message(redacted))
        return messages

    # bookkeeping ----------------------------------------------------------------------------
    def _finish(self, text: str, u: Understanding, turn: TurnTrace, reply: Reply, touched: list[str], started: float) -> Reply:
        """Record an LLM-handled turn as the rules record theirs, so context, transcript, store
        and tickets see it."""
        r = self.rules
        reply.handled_by = "llm"
        reply.language = r.language
        reply.sentiment = u.sentiment.compound if u.sentiment else None
        if u.sentiment is not None:
            r.caps.facts.sentiments.append(u.sentiment.compound)
        devices = list(dict.fromkeys(touched))
        # For the context the turn was understood (by the model): no misunderstanding counted,
        # and "turn it off" next refers to the device the model worked with.
        understood = dataclasses.replace(u, intent=u.intent or "LLM", confidence=1.0, device_ids=devices[:1], candidates=[])
        r._note_frustration(understood)
        r.misunderstood = 0
        r._sync_context(understood)
        turn.elapsed_s = time.monotonic() - started
        timings = {"total_s": turn.elapsed_s, **({"first_text_s": turn.first_text_s} if turn.first_text_s else {})}
        r._record(text, reply, timings)
        self._remember(turn, reply)
        return reply

    def _remember(self, turn: TurnTrace, reply: Reply) -> None:
        turn.actions = [dataclasses.asdict(a) for a in reply.actions]
        self.trace.append(turn)
        if turn.handled_by == "rules" and turn.fallback is None:
            return  # an ordinary rules turn: the rules' own records say everything
        try:
            self.rules.caps.store.add_trace(
                self.id, self.rules.caps.customer_id, "llm", None, dataclasses.asdict(turn)
            )
        except Exception:  # the trace is for explaining; losing it must not break the turn
            log.exception("could not store the LLM trace")


def merge(replies: list[Reply]) -> Reply:
    """Several actions in one turn ("turn off the lights in the kitchen and the hall")."""
    if len(replies) == 1:
        return replies[0]
    return Reply(
        text=" ".join(r.text for r in replies),
        actions=[a for r in replies for a in r.actions],
        escalated=any(r.escalated for r in replies),
        ticket_id=next((r.ticket_id for r in replies if r.ticket_id), None),
        end_conversation=any(r.end_conversation for r in replies),
        outcome=next((r.outcome for r in reversed(replies) if r.outcome), None),
    )


_MARKUP = re.compile(r"[*_#`>|\[\]{}<]+")
# Some chat templates HTML-escape what the model reads (" becomes &#34;), and small models copy it.
_ENTITY = re.compile(r"&#?\w{1,8};")
_ENTITY_START = re.compile(r"&#?\w{0,8}$")


def _clean(piece: str) -> str:
    return _MARKUP.sub("", _ENTITY.sub("", piece))


def _release(text: str) -> tuple[str, str]:
    """What of a streamed text can be spoken now, and a possible entity start to hold back."""
    m = _ENTITY_START.search(text)
    if m is None:
        return _clean(text), ""
    return _clean(text[: m.start()]), text[m.start() :]


def speakable(text: str) -> str:
    """The model's text as something to say: no markup, one line."""
    return " ".join(_clean(text or "").split())
