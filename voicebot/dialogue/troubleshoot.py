"""Runs one troubleshooting playbook: automatic steps (checks, commands, jumps) run at once,
and the run pauses at each question or instruction until the customer answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from device_bridge.devices import Device
from voicebot.dialogue.checks import Finding, evidence_sentence, run_check, spoken_age
from voicebot.dialogue.describe import device_label
from voicebot.dialogue.playbook import Playbook, Step
from voicebot.dialogue.types import Action

# What a command step reports back: (outcome value, the Action taken, a sentence for the customer).
# Called (device, changes, why, confirmed); "needs_confirmation" asks the customer for a yes first.
CommandRunner = Callable[..., tuple[str, Action | None, str]]


@dataclass
class StepRecord:
    """One step taken, for the ticket: what was done and what came of it."""

    playbook: str
    step: str
    kind: str
    result: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"playbook": self.playbook, "step": self.step, "kind": self.kind, "result": self.result, "detail": self.detail}


@dataclass
class RunOutput:
    texts: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    waiting: str | None = None  # "yes_no" | "choice" | "done": what the run waits for
    finished: str | None = None  # "resolved" | "escalated" when the run ended
    problem: str | None = None  # for escalated: what the agent should know
    reason: str = "playbook_exhausted"  # for escalated: why (the ticket's reason)

    @property
    def text(self) -> str:
        return " ".join(t for t in self.texts if t)


class PlaybookRun:
    def __init__(
        self,
        books: dict[str, Playbook],
        book: Playbook,
        bridge: Any,
        device: Device | None,
        run_command: CommandRunner,
        language: str = "en",
        max_steps: int = 40,
        context: dict[str, Any] | None = None,
        evidence: Finding | None = None,
    ) -> None:
        self.books = books
        self.book = book
        self.bridge = bridge
        self.device = device
        self.run_command = run_command
        self.language = language
        self.max_steps = max_steps
        self.step_id = book.start
        self.history: list[StepRecord] = []
        self.findings: dict[str, Finding] = {}
        # What checks may read besides their args: the availability log, the last request.
        self.context: dict[str, Any] = dict(context or {})
        if evidence is not None:
            self.findings["evidence"] = evidence
        self.finished: str | None = None
        self.last_prompt = ""
        self._unclear = 0
        self._confirming = False  # a command step on a risky device waits for the customer's yes

    @property
    def expects_yes_no(self) -> bool:
        return self._confirming or (self.step.kind == "ask" and self.step.expect == "yes_no")

    @property
    def step(self) -> Step:
        return self.book.steps[self.step_id]

    def start(self) -> RunOutput:
        """Say what the evidence showed first, unless the playbook was chosen for it (then its
        own first words use {evidence})."""
        out = RunOutput()
        ev = self.findings.get("evidence")
        if ev is not None:
            self.history.append(StepRecord(self.book.id, "evidence", "check", ev.result, ev.detail))
            key = str(ev.values.get("evidence", ""))
            # What the playbook's own words cannot say: that it keeps dropping off, and why.
            if ev.result != "ok" and (ev.result not in self.book.applies_to.evidence or key.endswith("_drops")
                                      or key == "offline_battery"):
                out.texts.append(self.values()["evidence"])
        return self._advance(out)

    def answer(self, answer: str, text: str = "") -> RunOutput:
        """``answer``: "yes", "no", "done", "unclear", or for choice questions the customer's words in ``text``."""
        out = RunOutput()
        step = self.step
        if self.finished:
            return out
        if self._confirming:
            if answer not in ("yes", "no"):
                return self._unclear_answer(out)
            self._confirming = False
            if answer == "no":
                self._record(step, "declined", text)
                self.finished = out.finished = "escalated"
                out.reason = "customer_declined"
                out.problem = f"the customer did not want the test command {step.command} sent to the device"
                return out
            self._unclear = 0
            return self._advance(out, confirmed=True)
        if step.kind == "ask" and step.expect == "choice":
            label = self._choice(step, text) or (answer if answer in step.go else None)
            if label is None:
                return self._unclear_answer(out)
            self._record(step, label, text)
            self.step_id = step.go[label]
        elif step.kind == "ask":
            if answer not in ("yes", "no"):
                return self._unclear_answer(out)
            self._record(step, answer, text)
            self.step_id = step.go[answer]
        else:  # a "say ... wait" instruction: they did it, or could not
            if answer == "unclear" and _CANT.search(text.lower()):
                answer = "no"
            if answer == "no" and "no" in step.go:
                self._record(step, "could not", text)
                self.step_id = step.go["no"]
            elif answer == "no":
                self._record(step, "could not", text)
                self.finished = out.finished = "escalated"
                out.reason = "customer_could_not"
                out.problem = f"the customer could not carry out: {self._text(step.say or '')}"
                return out
            elif answer == "unclear" and not _sounds_done(text):
                return self._unclear_answer(out)
            else:
                self._record(step, "done", text)
                assert step.next is not None
                self.step_id = step.next
        self._unclear = 0
        return self._advance(out)

    def repeat(self) -> RunOutput:
        return RunOutput(texts=[self.last_prompt], waiting=self._waiting(self.step))

    def _unclear_answer(self, out: RunOutput) -> RunOutput:
        self._unclear += 1
        if self._unclear >= 3:
            self.finished = "escalated"
            out.finished = "escalated"
            out.reason = "misunderstanding"
            out.problem = f"the customer could not answer: {self._text(self.step.ask or self.step.say or '')}"
            return out
        hint = {"yes_no": "Please answer yes or no.", "done": "Tell me when you have done it, or say no if you can't."}
        waiting = self._waiting(self.step)
        if waiting == "choice":
            hint_text = "You can say " + ", or ".join(self.step.choices) + "."
        else:
            hint_text = hint[waiting or "yes_no"]
        out.texts += ["Sorry, I didn't catch that.", self.last_prompt, hint_text]
        out.waiting = waiting
        return out

    def _advance(self, out: RunOutput, confirmed: bool = False) -> RunOutput:
        for _ in range(self.max_steps):
            step = self.step
            kind = step.kind
            if kind == "check":
                finding = run_check(step.check or "", self.bridge, self.device, step.args, self.context)
                self.findings[finding.check] = finding
                self._record(step, finding.result, finding.detail)
                self.step_id = step.go.get(finding.result) or step.go["default"]
            elif kind == "command":
                assert self.device is not None and step.command is not None
                why = f"playbook {self.book.id}, step {self.step_id}"
                outcome, action, sentence = self.run_command(self.device, dict(step.command), why, confirmed)
                confirmed = False
                if outcome == "needs_confirmation":
                    self._confirming = True
                    self.last_prompt = sentence
                    out.texts.append(sentence)
                    out.waiting = "yes_no"
                    return out
                if action is not None:
                    out.actions.append(action)
                self._record(step, outcome, sentence)
                if outcome in step.go:
                    self.step_id = step.go[outcome]
                else:
                    self.step_id = step.go["failed" if outcome != "confirmed" else "confirmed"]
            elif kind == "playbook":
                self._record(step, "continue", step.playbook or "")
                self.book = self.books[step.playbook or ""]
                self.step_id = self.book.start
            elif kind == "end":
                if step.say is not None:
                    out.texts.append(self._text(step.say))
                self._record(step, step.end or "", "")
                self.finished = step.end
                out.finished = step.end
                out.problem = self._text(step.problem) if step.problem else None
                return out
            elif kind == "ask":
                self.last_prompt = self._text(step.ask or "")
                out.texts.append(self.last_prompt)
                out.waiting = self._waiting(step)
                return out
            else:  # say
                text = self._text(step.say or "")
                out.texts.append(text)
                if step.wait:
                    self.last_prompt = text
                    out.waiting = "done"
                    return out
                self._record(step, "said", "")
                assert step.next is not None
                self.step_id = step.next
        # A playbook walking in circles: stop and hand over rather than loop for ever.
        self.finished = "escalated"
        out.finished = "escalated"
        out.problem = f"playbook {self.book.id} took more than {self.max_steps} steps"
        return out

    @staticmethod
    def _waiting(step: Step) -> str | None:
        if step.kind in ("ask", "command"):  # a command waits only for a yes to a risky action
            return "choice" if step.expect == "choice" else "yes_no"
        return "done" if step.wait else None

    def _record(self, step: Step, result: str, detail: str) -> None:
        self.history.append(StepRecord(self.book.id, self.step_id, step.kind, result, detail))

    def _choice(self, step: Step, text: str) -> str | None:
        words = f" {_normal(text)} "
        for label, synonyms in step.choices.items():
            for s in [label, *synonyms]:
                if f" {_normal(s)} " in words:
                    return label
        return None

    def _text(self, value: str | dict[str, str]) -> str:
        text = self.book.text(value, self.language).format(**self.values())
        return text[:1].upper() + text[1:]

    def values(self) -> dict[str, Any]:
        d = self.device
        v: dict[str, Any] = {
            "device": device_label(d, self.language) if d else "your devices",
            "area": (d.area or "your home").lower() if d else "your home",
        }
        for f in self.findings.values():
            v.update({k: val for k, val in f.values.items() if not isinstance(val, bool)})
        if "age_s" in v:
            v["last_seen"] = spoken_age(float(v["age_s"]), self.language)
        if "value" in v:
            v["reading"] = v["value"]
        for key in ("battery", "linkquality", "last_seen", "reading", "reference", "offline", "total",
                    "drops", "hub", "requested", "reported", "power"):
            v.setdefault(key, "unknown")
        ev = self.findings.get("evidence")
        v["evidence"] = evidence_sentence(str(ev.values.get("evidence", ev.result)), v, self.language) if ev else ""
        return v


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9']+", " ", text.lower()).split())


_DONE = re.compile(
    r"\b(done|ok|okay|did it|did that|finished|ready|it's on|plugged|replaced|changed|restarted|back|"
    r"put (new|them|it|in)|new ones|swapped|moved|fixed|cleaned|unplugged|turned it|switched it|i have|i've|"
    r"there you go|all set|sorted|"
    r"fertig|erledigt|gemacht|habe ich|hab ich|geschafft|eingesteckt|gewechselt|neu gestartet|jetzt)\b"
)


def _sounds_done(text: str) -> bool:
    return bool(_DONE.search(text.lower()))


_CANT = re.compile(r"\b(can't|cannot|can not|unable|couldn't|could not|don't have|no way|kann ich nicht|geht nicht|habe keine)\b")
