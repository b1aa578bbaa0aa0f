"""One customer, every channel: a conversation picks up where the customer's last one left off.

``follow_customer(conversation, store, settings)`` wraps a dialogue conversation of a known
customer. At its start it reads the customer's thread (voicebot.customers.threads): the devices
the last conversation was about become this one's context ("turn it off" means the same lamp), its
language carries over, and a problem still open is brought up in the greeting ("You wrote to us
a few minutes ago about the kitchen light. Is it still not working?"); a yes starts the
troubleshooting for that device again, from its current evidence. After every turn the thread
is written back, so the next channel (phone, speaker, web chat, Home Assistant) continues from it.

Whatever else the greeting opens with first (a proactive finding that asks its own question) goes
first: the history follows the first answer that leaves nothing open, so the customer is never
asked two things at once. A conversation that starts without a greeting (a speaker woken by its
wake word, a Home Assistant satellite) hears it after its first such answer too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from voicebot.config import Settings, section
from voicebot.customers.settings import CustomerSettings
from voicebot.customers.threads import DISMISSED, OPEN, RESOLVED, CustomerThread, Problem, Threads
from voicebot.dialogue.describe import device_label
from voicebot.dialogue.rules import Pending
from voicebot.dialogue.types import Reply

log = logging.getLogger(__name__)

HISTORY_CHANNELS = {"phone": "history_phone", "web": "history_web", "chat": "history_web", "speaker": "history_speaker",
                    "wyoming": "history_speaker"}


def follow_customer(conversation: Any, store: Any, settings: Settings | None = None,
                    clock: Callable[[], float] = time.time) -> Any:
    """``conversation`` continuing the customer's thread, or unchanged when the customer is not
    known (nobody to follow) or it is not a rules conversation (nothing to carry the context in)."""
    rules = getattr(conversation, "rules", conversation)  # the LLM policy wraps the rules conversation
    caps = getattr(rules, "caps", None)
    if caps is None or not getattr(caps, "customer_id", None):
        return conversation
    opts = section(CustomerSettings, "customers", settings) if settings is not None else CustomerSettings()
    try:
        return CustomerConversation(conversation, rules, Threads(store), opts, clock)
    except Exception:  # the history is a help; a database problem must not stop the conversation
        log.exception("could not read the customer's thread; the conversation starts without it")
        return conversation


class CustomerConversation:
    """A conversation (voicebot.dialogue.types.Conversation) that continues the customer's thread."""

    def __init__(self, inner: Any, rules: Any, threads: Threads, settings: CustomerSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.inner = inner
        self.rules = rules
        self.threads = threads
        self.settings = settings
        self.clock = clock
        caps = rules.caps
        self.customer_id: str = caps.customer_id
        self.channel: str = caps.channel
        self.prior = self._fresh(threads.latest(self.customer_id))
        self.problem: Problem | None = self.prior.open_problem if self.prior else None
        self._asked = False  # the carried problem was asked about; the next turn answers
        self._due = settings.open_with_history  # the carried problem is still to be brought up
        self._runs_seen = 0
        if self.prior is not None:
            self._carry_context(self.prior)

    @property
    def id(self) -> str:
        return str(self.inner.id)

    def __getattr__(self, name: str) -> Any:  # follow_up, handle_streaming's absence, ...
        return getattr(self.inner, name)

    # the Conversation protocol ---------------------------------------------------------------
    def greet(self) -> Reply:
        reply = self.inner.greet()
        opener = self._opener() if self._due and self.rules.pending is None else None
        if opener is not None:
            name = f", {self.rules.customer_name}" if self.rules.customer_name else ""
            if reply.text == self.rules.say("greeting", name=name):  # the plain greeting: replace its question
                reply.text = f"{self.rules.say('greeting_returning', name=name)} {opener}"
            else:
                reply.text = f"{reply.text} {opener}"
            self.rules.last_reply = reply.text
            self._ask_about(self.problem)
        self._save()
        return reply

    def handle(self, text: str) -> Reply:
        return self._after(self.inner.handle(text))

    def handle_dtmf(self, digit: str) -> Reply:
        return self._after(self.inner.handle_dtmf(digit))

    def handle_streaming(self, text: str) -> Reply:
        streaming = getattr(self.inner, "handle_streaming", None)
        return self._after(streaming(text) if callable(streaming) else self.inner.handle(text))

    def end(self, outcome: str) -> None:
        self.inner.end(outcome)
        self._save()

    # what was there before ------------------------------------------------------------------
    def _fresh(self, thread: CustomerThread | None) -> CustomerThread | None:
        if thread is None:
            return None
        if self.clock() - thread.updated_at > self.settings.carry_over_hours * 3600:
            return None
        known = {d.id for d in self.rules.caps.bridge.devices()}
        thread.device_ids = [d for d in thread.device_ids if d in known]
        if thread.problem is not None and thread.problem.device_id not in known:
            thread.problem = None  # a device no longer in the home is not brought up
        p = thread.problem
        if p is not None and p.ticket_id:
            ticket = self.rules.caps.store.ticket(p.ticket_id)
            if ticket is not None and ticket.status == "closed":
                thread.problem = None  # an agent closed it: it was dealt with
        return thread

    def _carry_context(self, prior: CustomerThread) -> None:
        rules = self.rules
        if prior.device_ids:
            rules.context.last_device_ids = list(prior.device_ids)
        if prior.area:
            rules.context.last_area = prior.area
        if prior.language != rules.language and prior.language in rules.replies.languages:
            rules.language = rules.caps.language = prior.language  # the language they last spoke

    def _opener(self) -> str | None:
        p, prior = self.problem, self.prior
        if p is None or prior is None:
            return None
        device = self.rules.caps.device(p.device_id)
        say = self.rules.say
        parts = [say(HISTORY_CHANNELS.get(prior.channel, "history_other"),
                     when=self._when(prior.updated_at),
                     device=device_label(device, self.rules.language))]
        ticket = self.rules.caps.store.ticket(p.ticket_id) if p.ticket_id else None
        if ticket is not None and ticket.status != "closed":
            status = self.rules.replies.say(f"status_{ticket.status}", self.rules.language, part=True)
            parts.append(say("history_ticket", ticket=ticket.id, status=status))
        parts.append(say("history_still"))
        return " ".join(parts)

    def _when(self, at: float) -> str:
        now = self.clock()
        days = (date.fromtimestamp(now) - date.fromtimestamp(at)).days
        if now - at < 30 * 60:
            return self.rules.say("history_when_minutes", part=True)
        if days == 0:
            return self.rules.say("history_when_today", part=True)
        if days == 1:
            return self.rules.say("history_when_yesterday", part=True)
        return self.rules.say("history_when_days", part=True, days=days)

    def _ask_about(self, p: Problem | None) -> None:
        """The open question is the dialogue's own: a yes troubleshoots the device, a no lets it be."""
        self._due = False
        if p is None:
            return
        rules = self.rules
        rules.pending = Pending("troubleshoot", device_id=p.device_id, symptom=p.symptom or "")
        rules.context.last_device_ids = [p.device_id]
        rules.context.ask_yes_no(topic="troubleshoot")
        self._asked = True

    # what is there now ----------------------------------------------------------------------
    def _after(self, reply: Reply) -> Reply:
        if self._asked:
            self._asked = False
            if self.problem is not None and reply.intent in ("No", "Cancel") and self.rules.caps.run is None:
                self.problem.status = DISMISSED  # "no, it works now"
        self._save(reply)
        if self._due and self._nothing_open(reply):
            opener = self._opener()
            if opener is not None:
                reply.text = f"{_without_closing_question(reply.text, self.rules)} {opener}".strip()
                self.rules.last_reply = reply.text
                self._ask_about(self.problem)
        return reply

    def _nothing_open(self, reply: Reply) -> bool:
        """The reply leaves no question or troubleshooting of its own open, and the conversation goes on."""
        rules = self.rules
        if reply.intent == "TicketStatus":  # the answer is about their ticket already
            return False
        return not (reply.end_conversation or reply.escalated or rules.ended or rules.pending is not None
                    or rules.caps.run is not None or self.problem is None or self.problem.status != OPEN)

    def _save(self, reply: Reply | None = None) -> None:
        try:
            self._note_problem(reply)
            context = self.rules.context
            self.threads.save(CustomerThread(
                customer_id=self.customer_id,
                conversation_id=self.id,
                channel=self.channel,
                updated_at=self.clock(),
                language=self.rules.language,
                device_ids=list(context.last_device_ids),
                area=context.last_area,
                problem=self.problem,
            ))
        except Exception:  # the reply still goes out; only the next channel knows less
            log.exception("could not save the thread of conversation %s", self.id)

    def _note_problem(self, reply: Reply | None) -> None:
        caps, context = self.rules.caps, self.rules.context
        symptom = context.last_slots.get("symptom") if context.last_intent == "ReportProblem" else None
        run = caps.run
        finished = caps.finished_runs[self._runs_seen:]
        self._runs_seen = len(caps.finished_runs)
        for done in finished:
            if done.device is not None:
                status = RESOLVED if done.finished == RESOLVED else OPEN
                self.problem = self._problem(done.device.id, done.book.id, symptom, status)
        if run is not None and run.device is not None:
            self.problem = self._problem(run.device.id, run.book.id, symptom, OPEN)
        if reply is not None and reply.ticket_id:
            # A ticket about a problem with a device (no playbook for it, or one that ran out) keeps
            # it open; a ticket for anything else ("I want a person") makes no device a problem.
            if (self.problem is None or self.problem.status != OPEN) and symptom and context.last_device_ids:
                self.problem = self._problem(context.last_device_ids[0], None, symptom, OPEN)
            if self.problem is not None and self.problem.status == OPEN:
                self.problem.ticket_id = reply.ticket_id

    def _problem(self, device_id: str, playbook: str | None, symptom: str | None, status: str) -> Problem:
        p = self.problem
        if p is not None and p.device_id == device_id:  # the same problem, carried on
            p.playbook = playbook or p.playbook
            p.symptom = symptom or p.symptom
            p.status = status
            return p
        return Problem(device_id, playbook, symptom, status, since=self.clock())


def _without_closing_question(text: str, rules: Any) -> str:
    """ "... Is there anything else I can help with?" loses its question when another one follows."""
    if text == rules.say("ok_anything_else"):
        return str(rules.say("history_all_right"))
    closing = rules.say("anything_else")
    return text[: -len(closing)].rstrip() if closing and text.endswith(closing) else text
