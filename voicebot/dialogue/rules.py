"""The rules policy: maps each understood turn to a capability, deterministically.

State kept between turns is small and explicit: a pending confirmation of a sensitive
command, a pending offer (troubleshoot this device? talk to a person?), a pending
clarification (which device?), the troubleshooting run in progress, and counters for
misunderstanding and frustration. Nothing is ever done to a device on a turn that was not
understood with enough confidence and resolved to exactly one device.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from device_bridge.devices import Device
from voicebot import live
from voicebot.dialogue.capabilities import Capabilities, CommandOutcome
from voicebot.dialogue.commands import NotApplicable, changes_for, domains_for
from voicebot.dialogue.corrections import (
    Correction,
    kind_matches,
    name_matches,
    parse_correction,
    resolve_named,
    spoken_name,
    spoken_phrase,
    undo_changes,
)
from voicebot.dialogue.describe import device_label, spoken_change
from voicebot.dialogue.movement import Movement, follow
from voicebot.dialogue.results import not_applicable_text
from voicebot.dialogue.safety import danger_of_kind, detect_danger
from voicebot.dialogue.troubleshoot import RunOutput
from voicebot.dialogue.types import Action, Reply
from voicebot.privacy.redact import redact
from voicebot.understand.completeness import UnderstandingJudge
from voicebot.understand.types import DEVICE_INTENTS, Understanding
from voicebot.understand.understander import Understander

log = logging.getLogger(__name__)

READ_INTENTS = ("HassGetState", "HassClimateGetTemperature")
DTMF = {"1": "yes", "2": "no", "0": "human", "*": "repeat", "#": "repeat"}


@dataclass
class LastRequest:
    """The last device request acted on, for "no, I meant ...", "the other one" and "put it back"."""

    intent: str
    slots: dict[str, Any]
    # (device id, changes sent, the device's state before): what to put back
    done: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)  # the devices the words could have meant
    text: str = ""  # what the customer said


@dataclass
class Pending:
    kind: str  # confirm | troubleshoot | human | which_device
    device_id: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    why: str = ""
    symptom: str = ""
    intent: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    candidates: list[str] = field(default_factory=list)
    playbook: str | None = None  # troubleshoot: this playbook (a proactive finding's), not one chosen by symptom


class RulesConversation:
    """One conversation under the rules policy (implements voicebot.dialogue.types.Conversation)."""

    def __init__(self, engine: Any, caps: Capabilities, speaker_area: str | None, customer_name: str | None) -> None:
        self._redact = redact
        self.engine = engine
        self.caps = caps
        self.id = caps.conversation_id
        self.language = caps.language
        self.speaker_area = speaker_area
        self.customer_name = customer_name
        self.context = engine.new_context()
        self.frustration = engine.new_frustration_tracker()
        self.pending: Pending | None = None
        self.misunderstood = 0
        self.last_reply = ""
        self.escalated = False
        self.outcome: str | None = None  # resolved | escalated | transfer | abandoned
        self.turns = 0
        self.ended = False
        self._current = ""  # this turn's user text, redacted
        self.moving: list[Movement] = []  # commands announced as started, watched until they arrive
        self.last_request: LastRequest | None = None
        self._request: LastRequest | None = None  # the request of this turn, while it is carried out
        self._session_names: dict[str, str] = {}  # names taught without a known customer: this call only
        self._detect = bool(engine.settings.languages)  # recognise the configured languages per turn
        self._opened = False  # the conversation's opening (a proactive finding) was looked for

    @property
    def awaiting_answer(self) -> bool:
        """The bot asked something (a confirmation, which device, a troubleshooting step) and the
        customer has not answered yet."""
        return not self.ended and (self.pending is not None or self.caps.run is not None)

    def turn_judge(self) -> UnderstandingJudge:
        """Is a speculative transcript a complete request in this conversation (the live
        session's end of turn, voicebot.turn_taking.TurnJudge)? The understanding over this home,
        this conversation's context (a question just asked) and the dialogue's confidence to act;
        names the customer taught are not looked up (the store is not read at every pause)."""

        def understander() -> Understander | None:
            stage = self.engine.understander()  # built on first use, not when the session starts
            return stage if isinstance(stage, Understander) else None  # another stage: no judgement

        return UnderstandingJudge(
            understander, lambda: self.context, self.speaker_area,
            lambda: None if self.language == "en" or self._detect else self.language,
            confident=self.engine.settings.confirm_below,
        )

    @property
    def replies(self) -> Any:
        return self.caps.replies

    def say(self, key: str, **values: Any) -> str:
        return self.caps.replies.say(key, self.language, **values)

    # the Conversation protocol ---------------------------------------------------------
    def greet(self) -> Reply:
        name = f", {self.customer_name}" if self.customer_name else ""
        text = self.say("greeting", name=name)
        opening = self._opening()
        if opening is not None:  # "Before we start: ..." replaces the greeting's question
            text = f"{self.say('greeting_with_finding', name=name)} {self._open_with(opening, 'opening_finding')}"
        self.last_reply = text
        return Reply(text=text, language=self.language)

    # a proactive finding first ----------------------------------------------------------
    def _opening(self) -> Any:
        """The engine's opening for this conversation, looked for once (voicebot.dialogue.types.Opening)."""
        if self._opened:
            return None
        self._opened = True
        opening = getattr(self.engine, "opening", None)
        return opening(self.caps) if callable(opening) else None

    def _open_with(self, opening: Any, key: str) -> str:
        """Say the opening and make its offer the open question: a yes troubleshoots from the finding."""
        if opening.offer and opening.device_id:
            self.pending = Pending("troubleshoot", opening.device_id, symptom=opening.symptom, playbook=opening.playbook)
            self.context.last_device_ids = [opening.device_id]
            self.context.ask_yes_no(topic="troubleshoot")
        if opening.on_said is not None:
            opening.on_said()
        self.caps.record("opening", None, {"text": opening.text, "playbook": opening.playbook,
                                           "device_id": opening.device_id})
        return self.say(key, finding=opening.text, offer=opening.offer)

    def _open_after(self, reply: Reply) -> Reply:
        """A conversation that began without a greeting (a speaker woken by its wake word): the
        finding follows the first answer, when that answer leaves no question of its own open."""
        if self._opened or self.ended or reply.end_conversation or reply.escalated:
            return reply
        if self.pending is not None or self.caps.run is not None:
            return reply  # looked for again after the next answer
        opening = self._opening()
        if opening is not None:
            reply.text = f"{reply.text} {self._open_with(opening, 'opening_finding_later')}".strip()
        return reply

    def handle(self, text: str) -> Reply:
        started = time.perf_counter()
        text = (text or "").strip()
        if self.ended:
            return Reply(text=self.say("conversation_over"), end_conversation=True, outcome=self.outcome, language=self.language)
        if not text:
            reply = Reply(text=self.say("heard_nothing"), language=self.language)
            self.last_reply = reply.text
            return reply
        self.turns += 1
        self._current = self._redact(text)
        heard = self._with_learned_names(text)
        try:
            u = self.engine.understand(
                heard, self.context, self.speaker_area, None if self.language == "en" or self._detect else self.language
            )
        except Exception:  # a fault in understanding is a turn not understood, never a dead call
            # What the customer said stays out of the logs (docs/security.md): only its redacted form, at DEBUG.
            log.exception("understanding failed on a turn of conversation %s", self.id)
            log.debug("the turn was %r", self._current)
            u = Understanding(text=text, intent=None, slots={}, confidence=0.0, language=self.language)
        if u.language != self.language and u.language in self.replies.languages:
            self.language = self.caps.language = u.language  # the customer switched language
        understood_s = time.perf_counter() - started
        if u.sentiment is not None:
            self.caps.facts.sentiments.append(u.sentiment.compound)
        frustrated = self._note_frustration(u)
        notice = self._movement_notice()
        try:
            reply = self._route(text, u, frustrated)
        except Exception:  # a bug or a dead bridge must not end the call with silence
            log.exception("dialogue failed on a turn of conversation %s", self.id)
            log.debug("the turn was %r", self._redact(text))
            reply = Reply(text=self.say("internal_error"))
        if notice is not None:
            reply = self._with_notice(notice, reply)
        reply.intent = reply.intent if reply.intent is not None else u.intent
        reply.slots = reply.slots or dict(u.slots)
        reply.sentiment = u.sentiment.compound if u.sentiment else None
        reply.language = self.language
        reply.escalated = reply.escalated or False
        reply = self._open_after(reply)
        self._sync_context(u)
        self._record(text, reply, {"understand_s": understood_s, "total_s": time.perf_counter() - started})
        return reply

    def follow_up(self) -> Reply | None:
        """What the customer should hear now without having said anything: a movement that stopped
        short or never arrived. Sessions may call it while the line is quiet; None: nothing to say."""
        if self.ended:
            return None
        notice = self._movement_notice()
        if notice is None:
            return None
        reply = self._with_notice(notice, Reply(text=""))
        reply.language = self.language
        self.caps.facts.transcript.append({"user": "", "bot": reply.text})
        self.last_reply = reply.text
        self._sync_context(Understanding(text="", intent=None, slots={}, confidence=0.0, language=self.language))
        return reply

    def handle_dtmf(self, digit: str) -> Reply:
        meaning = DTMF.get(digit)
        text = {"yes": "yes", "no": "no", "human": "I want to talk to a person", "repeat": "can you repeat that"}.get(
            meaning or "", ""
        )
        if not text:
            return Reply(text=self.say("dtmf_unknown"), language=self.language)
        return self.handle(text)

    def end(self, outcome: str) -> None:
        if self.ended:
            return
        self.ended = True
        self.caps.stop_playbook()
        final = self.outcome or outcome
        try:
            self.caps.store.end_conversation(self.id, final)
        except Exception:
            log.exception("could not record the end of conversation %s", self.id)
        live.text_end(self, final)

    # routing ------------------------------------------------------------------------
    def _route(self, text: str, u: Understanding, frustrated: bool) -> Reply:
        # The understander's danger label first, our own word list as a second line of defence.
        danger = danger_of_kind(str(u.slots["safety"])) if u.slots.get("safety") else detect_danger(text)
        if danger is not None:
            return self._safety(danger.kind, danger.text(self.language), text)
        if u.intent == "AskHuman":
            return self._escalate("asked", self._problem_so_far(text), prefix=self.say("escalate_asked"))
        if frustrated and self.caps.settings.escalate_on_frustration and not self.escalated:
            return self._escalate("frustration", self._problem_so_far(text), prefix=self.say("escalate_frustration"))

        correction = parse_correction(text, self.language) if self.caps.run is None else None
        if correction is not None:
            before, self.pending = self.pending, None  # a correction replaces any open question
            reply = self._correction(correction, text, u)
            if reply is not None:
                return reply
            self.pending = before
        pending, self.pending = self.pending, None
        if pending is not None:
            reply = self._resolve_pending(pending, text, u)
            if reply is not None:
                return reply
        if self.caps.run is not None:
            reply = self._answer_playbook(text, u)
            if reply is not None:
                return reply
        return self._intent(text, u)

    def _resolve_pending(self, p: Pending, text: str, u: Understanding) -> Reply | None:
        if p.kind == "confirm":
            assert p.device_id is not None
            if u.intent == "Yes":
                out = self.caps.set_state(p.device_id, p.changes, p.why, confirmed=True)
                return self._command_reply(out, u)
            label = device_label(self.caps.device(p.device_id), self.language)
            self.caps.record("confirmation", self.caps.device(p.device_id), {"changes": p.changes, "answer": u.intent or text})
            cancelled = self.say("sensitive_cancelled", device=label)
            if u.intent in ("No", "Cancel", None) or u.intent not in DEVICE_INTENTS:
                return Reply(text=cancelled)
            return None  # a new request: the sensitive one is dropped, the new one is handled
        if p.kind == "unsure":
            if u.intent == "Yes" and p.intent:
                outs = [self._device_intent(p.intent, p.slots, i, p.why) for i in p.candidates]
                return Reply(text=" ".join(o.text for o in outs), actions=[a for o in outs for a in o.actions])
            if u.intent in ("No", "Cancel"):
                return Reply(text=self.say("ok_anything_else"))
            return None
        if p.kind == "troubleshoot":
            if u.intent == "Yes":
                return self._start_playbook(p.device_id, p.symptom or "not responding", p.playbook)
            if u.intent in ("No", "Cancel"):
                return Reply(text=self.say("ok_anything_else"))
            return None
        if p.kind == "human":
            if u.intent == "Yes":
                return self._escalate("misunderstanding", self._problem_so_far(text))
            if u.intent in ("No", "Cancel"):
                self.misunderstood = 0
                return Reply(text=self.say("ok_try_again"))
            return None
        if p.kind == "which_device":
            if u.intent not in (None, "Yes", "No", "Cancel", p.intent) and u.confidence >= 0.8:
                return None  # a new request of its own: the question is dropped
            if p.candidates:
                ids = [d for d in u.device_ids if d in p.candidates] or self._pick_candidate(text, p.candidates)
            else:
                # An open question ("which device is it?"): what they name now, of the kind asked about.
                ids = list(u.device_ids) or list(u.candidates)
                domain = p.slots.get("domain")
                if domain and len(ids) > 1:
                    ids = [i for i in ids if self.caps.device(i).type.value == domain] or ids
            if len(ids) == 1:
                if p.intent == "ReportProblem":
                    return self._start_playbook(ids[0], p.symptom)
                if p.intent:
                    slots = {**p.slots, **{k: v for k, v in u.slots.items() if k != "name"}}
                    return self._device_intent(p.intent, slots, ids[0], p.why)
            if u.intent in ("No", "Cancel"):
                return Reply(text=self.say("ok_anything_else"))
            if len(ids) > 1:
                return self._which_device(p.intent, p.slots, ids, p.why, symptom=p.symptom)
            if u.intent is None or u.intent in ("Yes", p.intent):
                self.pending = p  # ask once more, the same question
                return Reply(text=self.say("which_device_again"))
            return None
        return None

    def _pick_candidate(self, text: str, candidates: list[str]) -> list[str]:
        """ "the first one", "the one in the kitchen": match against the offered devices."""
        t = text.lower()
        ordinals = {"first": 0, "second": 1, "third": 2, "last": len(candidates) - 1}
        for word, i in ordinals.items():
            if word in t and i < len(candidates):
                return [candidates[i]]
        hits = []
        for did in candidates:
            d = self.caps.device(did)
            if (d.area and d.area.lower() in t) or d.name.lower() in t:
                hits.append(did)
        return hits

    def _answer_playbook(self, text: str, u: Understanding) -> Reply | None:
        intent = u.intent
        if intent == "Cancel":
            self.caps.stop_playbook()
            return Reply(text=self.say("troubleshoot_stopped"))
        if intent == "Repeat":
            return self._run_reply(self.caps.run.repeat()) if self.caps.run else None
        if intent == "Goodbye":
            self.caps.stop_playbook()
            self.outcome = self.outcome or "abandoned"  # left in the middle of troubleshooting
            return None  # the goodbye below ends the call
        run = self.caps.run
        assert run is not None
        if intent == "ReportProblem" and u.device_ids and (run.device is None or run.device.id not in u.device_ids):
            # A problem with another device: that is the new topic.
            self.caps.stop_playbook()
            return None
        if intent in ("AskIfBot", "AskWhy", "Help", "TicketStatus", "GiveFeedback"):
            reply = self._intent(text, u)
            reply.text = f"{reply.text} {self.say('back_to_troubleshooting')} {run.last_prompt}"
            return reply
        if intent in DEVICE_INTENTS and u.confidence >= self.caps.settings.min_confidence and u.device_ids:
            # A device request in the middle of troubleshooting: do it, then come back to the question.
            reply = self._intent(text, u)
            assert self.caps.run is not None
            reply.text = f"{reply.text} {self.say('back_to_troubleshooting')} {self.caps.run.last_prompt}"
            return reply
        answer = {"Yes": "yes", "No": "no", "Thanks": "done"}.get(intent or "", "unclear")
        return self._run_reply(self.caps.continue_playbook(answer, text))

    def _intent(self, text: str, u: Understanding) -> Reply:
        intent = u.intent
        settings = self.caps.settings
        if intent is None or u.confidence < settings.min_confidence:
            return self._not_understood(text)
        self.misunderstood = 0
        if intent in DEVICE_INTENTS:
            return self._device_request(text, u)
        if intent == "ReportProblem":
            return self._report_problem(text, u)
        if intent == "TicketStatus":
            return Reply(text=self.caps.ticket_status(u.slots.get("ticket")))
        if intent == "AskIfBot":
            return Reply(text=self.say("i_am_a_bot"))
        if intent == "AskWhy":
            device_id = u.device_ids[0] if len(u.device_ids) == 1 else None
            return Reply(text=self.caps.explain(device_id, u.slots.get("state") or _asked_change(text)))
        if intent == "Help":
            return Reply(text=self.say("help"))
        if intent == "Greeting":
            return Reply(text=self.say("greeting_back"))
        if intent == "Thanks":
            return Reply(text=self.say("thanks"))
        if intent == "Goodbye":
            self.outcome = self.outcome or ("escalated" if self.escalated else "resolved")
            return Reply(text=self.say("goodbye"), end_conversation=True, outcome=self.outcome)
        if intent == "Repeat":
            return Reply(text=self.last_reply or self.say("help"))
        if intent == "Cancel":
            return Reply(text=self.say("ok_anything_else"))
        if intent == "GiveFeedback":
            self.caps.record("feedback", None, {"feedback": self._redact(str(u.slots.get("feedback") or text))})
            return Reply(text=self.say("feedback_thanks"))
        if intent in ("Yes", "No"):
            return Reply(text=self.say("yes_no_out_of_context"))
        return self._not_understood(text)

    # device requests ----------------------------------------------------------------
    def _device_request(self, text: str, u: Understanding) -> Reply:
        assert u.intent is not None
        ids = list(u.device_ids)
        if u.intent not in READ_INTENTS:
            self._request = LastRequest(u.intent, dict(u.slots), candidates=list(dict.fromkeys([*u.candidates, *ids])),
                                        text=text)
        wanted = domains_for(u.intent)
        if wanted and len(ids) > 1:
            narrowed = [i for i in ids if self.caps.device(i).type.value in wanted]
            ids = narrowed or ids
        if u.candidates and len(ids) != 1:
            return self._which_device(u.intent, u.slots, u.candidates, text)
        if not ids:
            # Home Assistant's name "all" ("the fans in the study") is every device, no name
            name = (u.slots.get("name") if u.slots.get("name") != "all" else None) or u.slots.get("area") or ""
            return Reply(text=self.say("no_such_device", name=name) if name else self.say("which_device_plain"))
        if u.intent in READ_INTENTS:
            return self._read(ids, u)
        if u.confidence < self.caps.settings.confirm_below:
            # Understood, but not surely: say what we would do and wait for a yes.
            what = self._describe_request(u.intent, u.slots, ids)
            self.pending = Pending("unsure", intent=u.intent, slots=dict(u.slots), candidates=ids, why=text)
            return Reply(text=self.say("confirm_deferred" if u.deferred else "confirm_unsure", request=what))
        if len(ids) > 1:
            # "turn off the lights in the kitchen": every light there, each confirmed by the device.
            # Those the request does not fit ("darker" for a light that is off) are left alone and
            # unmentioned when it fits others; when it fits none, the first says why.
            fits = [i for i in ids if self._fits(u.intent, u.slots, i)]
            outs = [self._device_intent(u.intent, u.slots, i, text) for i in (fits or ids[:1])]
            return Reply(text=" ".join(o.text for o in outs), actions=[a for o in outs for a in o.actions])
        return self._device_intent(u.intent, u.slots, ids[0], text)

    def _fits(self, intent: str, slots: dict[str, Any], device_id: str) -> bool:
        if intent in READ_INTENTS:
            return True
        try:
            changes_for(intent, slots, self.caps.device(device_id), self.caps.bridge.get(device_id).state)
        except NotApplicable:
            return False
        return True

    def _device_intent(self, intent: str, slots: dict[str, Any], device_id: str, why: str) -> Reply:
        """One device request; ``why`` is what the customer said, for the trace."""
        device = self.caps.device(device_id)
        if intent in READ_INTENTS:
            return Reply(text=self.caps.device_report(device_id, checks=False).text)
        try:
            current = self.caps.bridge.get(device_id).state
            changes = changes_for(intent, slots, device, current)
        except NotApplicable as exc:
            return Reply(text=not_applicable_text(self.caps.replies, self.language, device, exc))
        out = self.caps.set_state(device_id, changes, f"you asked: {self._redact(why)}")
        return self._command_reply(out, None)

    def _command_reply(self, out: CommandOutcome, u: Understanding | None) -> Reply:
        actions: list[Action] = [out.action] if out.action else []
        if out.status == "needs_confirmation":
            self.pending = Pending("confirm", out.device.id, out.changes, why=f"you asked and confirmed: {self._current}")
            return Reply(text=out.text)
        self._note_context(out.device)
        if out.action is not None:
            req = self._request or LastRequest("", {})
            if self.last_request is not req:
                req.done = []
            req.done.append((out.device.id, dict(out.changes), dict(out.started_from)))
            self.last_request = req
        if out.moving:
            start = out.started_from.get("current_position")
            self.moving = [m for m in self.moving if m.device_id != out.device.id]
            self.moving.append(Movement(out.device.id, dict(out.changes),
                                        start_position=float(start) if isinstance(start, (int, float)) else None))
        if out.status in ("not_confirmed", "offline"):
            self.pending = Pending("troubleshoot", out.device.id, symptom="not responding")
            return Reply(text=f"{out.text} {self.say('offer_troubleshoot')}", actions=actions)
        return Reply(text=out.text, actions=actions)

    # corrections ------------------------------------------------------------------
    def _with_learned_names(self, text: str) -> str:
        devices = self.caps.bridge.devices()
        home = self.caps.customer_id
        try:
            out = self.engine.learned.rewrite(home, text, devices) if home else text
        except Exception:  # a broken store must not stop the call
            log.exception("could not read the learnt names")
            out = text
        by_id = {d.id: d for d in devices}
        for phrase, did in self._session_names.items():
            if did in by_id:
                out = re.sub(rf"\b{re.escape(phrase)}\b", spoken_name(by_id[did], devices), out, flags=re.IGNORECASE)
        return out

    def _correction(self, c: Correction, text: str, u: Understanding) -> Reply | None:
        devices = self.caps.bridge.devices()
        if c.kind == "teach":
            hits = resolve_named(c.target, devices, prefer=[self.speaker_area] if self.speaker_area else None)
            if len(hits) != 1:
                return None  # "the kitchen light is off" teaches nothing
            device = hits[0]
            self._learn(c.phrase, device, "taught")
            return Reply(text=self.say("learned_name", phrase=c.phrase, device=device_label(device, self.language)),
                         intent="LearnName")
        last = self.last_request
        if c.kind == "undo":
            if last is None or not last.done:
                return Reply(text=self.say("nothing_to_undo"), intent="Undo")
            texts, actions = self._undo(last)
            self.last_request = None
            return Reply(text=" ".join(texts), actions=actions, intent="Undo")
        if last is None or not last.done or not last.intent:
            return None
        wrong = [did for did, _, _ in last.done]
        domains = {self.caps.device(d).type for d in wrong}
        if c.kind == "meant":
            hits = resolve_named(c.target, devices, prefer=[self.speaker_area] if self.speaker_area else None)
            if not hits:
                hits = list(self.caps.find_devices(name=c.target))
            same_kind = [d for d in hits if d.type in domains]
            hits = same_kind or hits
            kept = [d for d in hits if d.id in wrong]
            if len(kept) == 1 and len(wrong) > 1:
                # "the lights" did several and they meant one of them: put the others back
                last.done = [x for x in last.done if x[0] != kept[0].id]
                texts, actions = self._undo(last)
                self._learn_from(last, kept[0], devices)
                self.last_request = LastRequest(last.intent, dict(last.slots), [], list(last.candidates))
                state = self.caps.device_report(kept[0].id, checks=False).text
                return Reply(text=" ".join([self.say("correction_sorry"), *texts, state]), actions=actions, intent="Correction")
            hits = [d for d in hits if d.id not in wrong]
        else:  # the other one
            pool_ids = [i for i in last.candidates if i not in wrong]
            if not pool_ids:
                areas = {self.caps.device(d).area for d in wrong}
                pool_ids = [d.id for d in devices if d.id not in wrong and d.type in domains and d.area in areas]
            hits = [self.caps.device(i) for i in pool_ids if kind_matches(self.caps.device(i), c.device_kind)]
        if not hits:
            return Reply(text=self.say("no_such_device", name=c.target or c.device_kind or "the other one"))
        if len(hits) > 1:
            self.pending = None
            reply = self._which_device(last.intent, last.slots, [d.id for d in hits[:4]], text)
            return reply
        target = hits[0]
        texts, actions = self._undo(last)
        if c.kind == "meant":
            self._learn_from(last, target, devices)
        self._request = LastRequest(last.intent, dict(last.slots), candidates=list(last.candidates))
        redo = self._device_intent(last.intent, last.slots, target.id, text)
        return Reply(text=" ".join([self.say("correction_sorry"), *texts, redo.text]).strip(),
                     actions=[*actions, *redo.actions], intent="Correction")

    def _undo(self, last: LastRequest) -> tuple[list[str], list[Action]]:
        texts: list[str] = []
        actions: list[Action] = []
        for did, changes, before in reversed(last.done):
            device = self.caps.device(did)
            back = undo_changes(device, before, changes)
            if not back:
                texts.append(self.say("cannot_undo", device=device_label(device, self.language)))
                continue
            out = self.caps.set_state(did, back, "you asked to put it back")
            if out.action is not None:
                actions.append(out.action)
            if out.status == "needs_confirmation":
                self.pending = Pending("confirm", did, back, why="you asked to put it back")
            key = "undone" if out.ok else None
            texts.append(self.say(key, device=device_label(device, self.language)) if key else out.text)
        return texts, actions

    def _learn_from(self, last: LastRequest, meant: Device, devices: list[Device]) -> None:
        """ "Turn on the reading light" did the wrong thing and they meant the floor lamp: their words
        are their name for it, unless the words are some device's own name."""
        named = str(last.slots.get("name") or "").strip()
        spoken = (named if named != "all" else "") or spoken_phrase(last.text)
        generic = {"light", "lights", "lamp", "lamps", "device", "thing", "one", "it"}
        areas = {(d.area or "").lower() for d in devices}
        if (spoken and spoken.lower() not in generic | areas and len(spoken.split()) <= 3
                and not any(name_matches(d, spoken) for d in devices)):
            self._learn(spoken, meant, "correction")

    def _learn(self, phrase: str, device: Device, source: str) -> None:
        phrase = " ".join(phrase.lower().split())
        home = self.caps.customer_id
        if home:
            try:
                self.engine.learned.learn(home, phrase, device.id, self.language, source)
                self.caps.record("learned_name", device, {"phrase": phrase, "source": source})
                return
            except Exception:
                log.exception("could not store a learnt name")
        self._session_names[phrase] = device.id

    # movement follow-ups ------------------------------------------------------------
    def _movement_notice(self) -> tuple[str, str] | None:
        """(sentence, device id) for the first watched movement that went wrong; arrived ones are dropped."""
        still: list[Movement] = []
        notice: tuple[str, str] | None = None
        for m in self.moving:
            try:
                status = follow(self.caps.bridge, m)
            except Exception:
                log.exception("could not follow the movement of %s", m.device_id)
                continue
            if status.verdict == "moving" or (notice is not None and status.verdict != "arrived"):
                still.append(m)
                continue
            if status.verdict == "arrived":
                continue
            device = self.caps.device(m.device_id)
            label = device_label(device, self.language)
            position = f"{status.position:g}" if status.position is not None else "?"
            self.caps.record("movement", device, {"changes": m.changes, "verdict": status.verdict, "position": status.position})
            notice = (self.say(f"movement_{status.verdict}", device=label, position=position,
                               change=spoken_change(device, m.changes, language=self.language)), m.device_id)
        self.moving = still
        return notice

    def _with_notice(self, notice: tuple[str, str], reply: Reply) -> Reply:
        text, device_id = notice
        if self.pending is None and self.caps.run is None and not reply.end_conversation:
            self.pending = Pending("troubleshoot", device_id, symptom="stopped short not moving")
            reply.text = f"{text} {reply.text} {self.say('offer_troubleshoot')}".strip()
        else:
            reply.text = f"{text} {reply.text}".strip()
        return reply

    def _describe_request(self, intent: str, slots: dict[str, Any], ids: list[str]) -> str:
        """ "turn on the ceiling light and the floor lamp", for a confirmation question."""
        parts = []
        for i in ids[:4]:
            device = self.caps.device(i)
            try:
                changes = changes_for(intent, slots, device, self.caps.bridge.get(i).state)
            except NotApplicable:
                continue
            parts.append(spoken_change(device, changes, language=self.language))
        return " and ".join(parts) or "do that"

    def _read(self, ids: list[str], u: Understanding) -> Reply:
        texts = [self.caps.device_report(i, checks=False).text for i in ids[:4]]
        self._note_context(self.caps.device(ids[0]))
        return Reply(text=" ".join(texts))

    def _which_device(self, intent: str | None, slots: dict[str, Any], candidates: list[str], why: str, symptom: str = "") -> Reply:
        labels = [self._label_with_area(self.caps.device(c)) for c in candidates[:4]]
        self.pending = Pending("which_device", intent=intent, slots=dict(slots), candidates=list(candidates), why=why, symptom=symptom)
        return Reply(text=self.say("which_device", options=self.say("or", part=True).join(labels)))

    def _label_with_area(self, d: Device) -> str:
        label = device_label(d, self.language)
        if d.area and d.area.lower() not in label.lower():
            label += f" ({d.area})" if self.language == "de" else f" in the {d.area.lower()}"
        return label

    # troubleshooting ---------------------------------------------------------------
    def _report_problem(self, text: str, u: Understanding) -> Reply:
        # The understander's symptom code ("wont_turn_on") and the customer's own words both select.
        symptom = f"{u.slots.get('symptom') or ''} {text}".strip()
        if len(u.device_ids) == 1:
            return self._start_playbook(u.device_ids[0], symptom)
        # "Nothing works": a problem of the whole home (hub) comes before asking which device.
        general = self.caps.start_playbook(None, symptom)
        if general is not None:
            return self._run_reply(general)
        if u.candidates:
            return self._which_device("ReportProblem", u.slots, u.candidates, text, symptom=symptom)
        self.pending = Pending("which_device", intent="ReportProblem", slots=dict(u.slots), symptom=symptom, why=text)
        return Reply(text=self.say("which_device_problem"))

    def _start_playbook(self, device_id: str | None, symptom: str, playbook: str | None = None) -> Reply:
        out = self.caps.start_playbook(device_id, symptom, playbook)
        if out is None:
            label = device_label(self.caps.device(device_id), self.language) if device_id else "that"
            return self._escalate(
                "no_playbook", f"customer reports a problem with {label}: {self._redact(symptom)}", prefix=self.say("no_playbook", device=label)
            )
        if device_id:
            self._note_context(self.caps.device(device_id))
        return self._run_reply(out)

    def _run_reply(self, out: RunOutput) -> Reply:
        if out.finished == "escalated":
            return self._escalate(out.reason, out.problem or "troubleshooting did not solve it", prefix=out.text, actions=out.actions)
        reply = Reply(text=out.text, actions=list(out.actions))
        if out.finished == "resolved":
            self.outcome = "resolved"
            reply.outcome = "resolved"
            reply.text = f"{reply.text} {self.say('anything_else')}".strip()
        return reply

    # escalation --------------------------------------------------------------------
    def _escalate(self, reason: str, problem: str, prefix: str = "", actions: list[Action] | None = None, urgent: bool = False) -> Reply:
        device_ids = [self.caps.run.device.id] if self.caps.run and self.caps.run.device else []
        esc = self.caps.escalate(reason, problem, device_ids, urgent=urgent)
        self.escalated = True
        self.pending = None
        self.outcome = "transfer" if esc.transfer else "escalated"
        return Reply(
            text=f"{prefix} {esc.text}".strip(),
            actions=list(actions or []),
            escalated=True,
            ticket_id=esc.ticket.id,
            end_conversation=esc.transfer,
            outcome=self.outcome,
        )

    def _safety(self, kind: str, advice: str, text: str) -> Reply:
        emergency = self.caps.settings.emergency_number or self.say("local_emergency_number")
        advice_text = advice.format(emergency=emergency)
        problem = f"SAFETY ({kind}): {self._redact(text)}"
        reply = self._escalate("safety", problem, prefix=advice_text, urgent=True)
        if kind in ("gas", "fire"):
            reply.end_conversation = True
        return reply

    def _not_understood(self, text: str) -> Reply:
        self.misunderstood += 1
        if self.escalated and self.misunderstood >= 2:
            return Reply(text=self.say("already_escalated"))
        if self.misunderstood >= self.caps.settings.escalate_after_misunderstandings:
            self.pending = Pending("human")
            return Reply(text=self.say("offer_human"))
        return Reply(text=self.say("not_understood" if self.misunderstood == 1 else "not_understood_again"))

    def _problem_so_far(self, text: str) -> str:
        run = self.caps.run or (self.caps.finished_runs[-1] if self.caps.finished_runs else None)
        if run is not None:
            what = device_label(run.device) if run.device else "their devices"
            return f"{run.book.title} ({what}); customer said: {self._redact(text)}"
        users = [t["user"] for t in self.caps.facts.transcript][-3:]
        return "customer said: " + " / ".join([*users, self._redact(text)])

    # bookkeeping --------------------------------------------------------------------
    def _note_frustration(self, u: Understanding) -> bool:
        if self.frustration is None or u.sentiment is None:
            return False
        frustrated = bool(self.engine.update_frustration(self.frustration, u))
        self.caps.facts.frustrated = self.caps.facts.frustrated or frustrated
        return frustrated

    def _sync_context(self, u: Understanding) -> None:
        """Tell the understanding context what this turn did and which question is now open,
        so that "yes", "the second one" or "turn it off" are read against it."""
        self.context.update(u)
        p = self.pending
        if p is not None and p.kind == "which_device":
            self.context.ask_which(p.candidates, p.intent, p.slots)
        elif p is not None:
            self.context.ask_yes_no(topic=p.kind, intent=p.intent)
        elif self.caps.run is not None and self.caps.run.expects_yes_no:
            self.context.ask_yes_no(topic="playbook")
        else:
            self.context.clear_pending()

    def _note_context(self, device: Device) -> None:
        self.engine.note_device(self.context, device)

    def _record(self, text: str, reply: Reply, timings: dict[str, float]) -> None:
        redacted = self._redact(text)
        self.caps.facts.transcript.append({"user": redacted, "bot": reply.text})
        self.last_reply = reply.text
        try:
            self._store_turn(redacted, reply, timings)
        except Exception:  # a full disk must not silence the call; the reply still goes out
            log.exception("could not store a turn of conversation %s", self.id)
        live.text_turn(self, redacted, reply)  # the agents' console sees text channels live too
        if reply.end_conversation:
            self.end(reply.outcome or "resolved")

    def _store_turn(self, redacted: str, reply: Reply, timings: dict[str, float]) -> None:
        self.caps.store.add_turn(
            self.id,
            redacted,
            reply.text,
            reply.intent,
            reply.slots,
            [a.__dict__ for a in reply.actions],
            reply.sentiment,
            reply.language,
            reply.handled_by,
            timings,
        )


_ASKED_CHANGE = (
    (("unlock",), "unlocked"), (("lock",), "locked"), (("turn off", "turned off", "switch off", "switched off", " off"), "off"),
    (("turn on", "turned on", "switch on", "switched on", " on"), "on"), (("open",), "open"), (("close", "shut"), "closed"),
)


def _asked_change(text: str) -> str | None:
    """ "why did you turn that off?" asks about a change to "off"."""
    t = f" {text.lower().rstrip('?!. ')} "
    for words, state in _ASKED_CHANGE:
        if any(w in t for w in words):
            return state
    return None
