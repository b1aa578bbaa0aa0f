"""Troubleshooting playbooks: the YAML schema, loading and validation.

A playbook is data (voicebot/dialogue/playbooks/*.yaml, plus any folder named in the
configuration). Each step does exactly one thing: ``check`` live telemetry, ``ask`` the
customer, ``say`` an instruction (optionally waiting until they have done it), send a
``command`` and verify it, jump to another ``playbook``, or ``end`` resolved or escalated.
Loading refuses a playbook whose branches do not cover every result or point nowhere,
naming the file, the step and the problem.
"""

from __future__ import annotations

import math
import re
import string
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from voicebot.dialogue.checks import CHECKS, EVIDENCE_RESULTS

BUNDLED_DIR = Path(__file__).parent / "playbooks"

# Placeholders a playbook text may use; filled from the device and the run's findings.
PLACEHOLDERS = {"device", "area", "battery", "linkquality", "last_seen", "reading", "reference", "offline", "total",
                "evidence", "drops", "hub", "requested", "reported", "power"}
COMMAND_RESULTS = ("confirmed", "failed", "not_confirmed", "offline", "rejected", "broker_down")

Text = str | dict[str, str]  # one English text, or texts by language code (must include "en")


class PlaybookError(ValueError):
    """A playbook file is invalid; the message names the file and the step."""


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    ask: Text | None = None
    expect: Literal["yes_no", "choice"] = "yes_no"
    choices: dict[str, list[str]] = Field(default_factory=dict)  # label: words that mean it
    say: Text | None = None
    wait: bool = False  # after "say": wait until the customer says they have done it
    command: dict[str, Any] | None = None
    playbook: str | None = None  # continue in another playbook with the same device
    end: Literal["resolved", "escalated"] | None = None
    problem: str | None = None  # for end: escalated, what the agent should know
    go: dict[str, str] = Field(default_factory=dict)  # result: next step
    next: str | None = None

    @field_validator("go", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        # YAML 1.1 reads bare yes/no keys as booleans; in a playbook they are answers.
        if isinstance(value, dict):
            return {({True: "yes", False: "no"}.get(k, k) if isinstance(k, bool) else k): v for k, v in value.items()}
        return value

    @property
    def kind(self) -> str:
        for kind in ("check", "ask", "command", "playbook", "end"):
            if getattr(self, kind) is not None:
                return kind
        return "say"

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = [k for k in ("check", "ask", "command", "playbook", "end") if getattr(self, k) is not None]
        if len(kinds) > 1:
            raise ValueError(f"a step does one thing, this one has {', '.join(kinds)}")
        if not kinds and self.say is None:
            raise ValueError("a step needs one of check, ask, say, command, playbook or end")
        return self


class AppliesTo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domains: list[str] = Field(default_factory=list)  # empty: any device
    device_classes: list[str] = Field(default_factory=list)
    symptoms: list[str] = Field(default_factory=list)  # words or phrases in the customer's report
    # What the device's own evidence must show for this playbook to come first (checks.py
    # EVIDENCE_RESULTS: low_battery, weak_signal, offline, dropping_out, wrong_reading, ...).
    evidence: list[str] = Field(default_factory=list)
    needs_device: bool = True

    @field_validator("evidence")
    @classmethod
    def _known_evidence(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in EVIDENCE_RESULTS]
        if unknown:
            raise ValueError(f"unknown evidence {', '.join(unknown)}; known: {', '.join(EVIDENCE_RESULTS)}")
        return value


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    start: str
    steps: dict[str, Step]
    source: str = ""  # the file it came from

    def text(self, value: Text, language: str) -> str:
        if isinstance(value, str):
            return value
        return value.get(language) or value["en"]


def load_playbooks(dirs: list[Path] | None = None) -> dict[str, Playbook]:
    """The bundled playbooks and those in ``dirs`` (a later file with the same id replaces an earlier one)."""
    found: dict[str, Playbook] = {}
    for folder in [BUNDLED_DIR, *(dirs or [])]:
        folder = Path(folder)
        if not folder.is_dir():
            raise PlaybookError(f"playbook folder {folder} does not exist")
        for path in sorted(folder.glob("*.yaml")):
            book = load_playbook_file(path)
            found[book.id] = book
    _check_jumps(found)
    return found


def load_playbook_file(path: Path) -> Playbook:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PlaybookError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise PlaybookError(f"{path}: a playbook is a mapping with id, title, start and steps")
    try:
        book = Playbook.model_validate({**data, "source": str(path)})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise PlaybookError(f"{path}: {problems}") from None
    errors = validate_playbook(book)
    if errors:
        raise PlaybookError(f"{path}: " + "; ".join(errors))
    return book


def validate_playbook(book: Playbook) -> list[str]:
    errors: list[str] = []
    if book.start not in book.steps:
        errors.append(f"start step {book.start!r} is not among the steps")
    for sid, step in book.steps.items():
        where = f"step {sid!r}"
        targets: dict[str, str] = dict(step.go)
        if step.next is not None:
            targets["next"] = step.next
        for label, target in targets.items():
            if target not in book.steps:
                errors.append(f"{where}: {label} goes to {target!r}, which is not a step")
        for text in _texts(step):
            for lang, t in text.items():
                for name in _fields(t):
                    if name not in PLACEHOLDERS:
                        errors.append(f"{where}: unknown placeholder {{{name}}} in {lang} text")
            if "en" not in text:
                errors.append(f"{where}: texts by language must include English (en)")
        kind = step.kind
        if kind == "check":
            spec = CHECKS.get(step.check or "")
            if spec is None:
                errors.append(f"{where}: unknown check {step.check!r}; known: {', '.join(sorted(CHECKS))}")
                continue
            unknown_args = set(step.args) - set(spec.args)
            if unknown_args:
                errors.append(f"{where}: check {step.check} takes no argument {', '.join(sorted(unknown_args))}")
            missing = [r for r in spec.results if r not in step.go and "default" not in step.go]
            if missing:
                errors.append(f"{where}: check {step.check} can give {', '.join(missing)} with no branch in go")
            extra = set(step.go) - set(spec.results) - {"default"}
            if extra:
                errors.append(f"{where}: check {step.check} never gives {', '.join(sorted(extra))}")
            if spec.needs_device and not book.applies_to.needs_device:
                errors.append(f"{where}: check {step.check} needs a device but the playbook has none")
        elif kind == "ask":
            labels = ("yes", "no") if step.expect == "yes_no" else tuple(step.choices)
            if step.expect == "choice" and not step.choices:
                errors.append(f"{where}: expect: choice needs choices")
            missing = [label for label in labels if label not in step.go]
            if missing:
                errors.append(f"{where}: the answer {', '.join(missing)} has no branch in go")
        elif kind == "say":
            if step.next is None:
                errors.append(f"{where}: a say step needs next (or make it an end step)")
            if set(step.go) - {"no"}:
                errors.append(f"{where}: a say step branches only on no (the customer could not do it)")
            if step.go and not step.wait:
                errors.append(f"{where}: go: no needs wait: true")
        elif kind == "command":
            if not step.command:
                errors.append(f"{where}: command needs the changes to send")
            if not book.applies_to.needs_device:
                errors.append(f"{where}: a command needs a device but the playbook has none")
            bad = set(step.go) - set(COMMAND_RESULTS)
            if bad:
                errors.append(f"{where}: a command gives {', '.join(COMMAND_RESULTS)}, not {', '.join(sorted(bad))}")
            failures = set(COMMAND_RESULTS) - {"confirmed", "failed"}
            if "confirmed" not in step.go or ("failed" not in step.go and not failures <= set(step.go)):
                errors.append(f"{where}: a command needs go branches for confirmed and failed")
        elif kind == "end" and step.end == "escalated" and not step.problem:
            errors.append(f"{where}: an escalated end needs problem: what the agent should know")
    errors += _unreachable(book)
    return errors


def _texts(step: Step) -> list[dict[str, str]]:
    out = []
    for value in (step.ask, step.say):
        if value is not None:
            out.append({"en": value} if isinstance(value, str) else value)
    return out


def _fields(text: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name]
    except ValueError:
        return ["<unbalanced braces>"]


def _unreachable(book: Playbook) -> list[str]:
    if book.start not in book.steps:
        return []
    seen, todo = set(), [book.start]
    while todo:
        sid = todo.pop()
        if sid in seen or sid not in book.steps:
            continue
        seen.add(sid)
        step = book.steps[sid]
        todo += list(step.go.values()) + ([step.next] if step.next else [])
    return [f"step {sid!r} can never be reached" for sid in book.steps if sid not in seen]


def _check_jumps(books: dict[str, Playbook]) -> None:
    for book in books.values():
        for sid, step in book.steps.items():
            if step.playbook is not None and step.playbook not in books:
                raise PlaybookError(f"{book.source}: step {sid!r} continues in playbook {step.playbook!r}, which does not exist")


def select_playbook(
    books: dict[str, Playbook], domain: str | None, device_class: str | None, symptom: str, evidence: str | None = None
) -> Playbook | None:
    """The playbook that fits a device kind, what its evidence shows and the customer's words best,
    or None. Evidence weighs most: a door sensor whose battery is flat gets the battery playbook
    whatever the customer calls the problem."""
    words = f" {_normal(symptom)} "
    # A phrase many playbooks list ("not working") says little; one only this playbook lists
    # ("keeps tripping") says much: hits weigh by how rare the phrase is among the playbooks.
    df: dict[str, int] = {}
    for book in books.values():
        for p in {_normal(s) for s in book.applies_to.symptoms if _normal(s)}:
            df[p] = df.get(p, 0) + 1
    best: tuple[float, Playbook] | None = None
    for book in books.values():
        a = book.applies_to
        if domain is None and a.needs_device:
            continue
        if domain is not None and a.domains and domain not in a.domains:
            continue
        if a.device_classes and device_class not in a.device_classes:
            continue
        hit = {p for p in (_normal(s) for s in a.symptoms) if p and f" {p} " in words}
        relevance = sum(1.0 + math.log(len(books) / df[p]) for p in hit)
        seen = evidence is not None and evidence in a.evidence
        score = relevance * 10 + (5 if domain is not None and domain in a.domains else 0) + (100 if seen else 0)
        if a.device_classes:
            score += 3
        if not a.domains and not hit and not seen:
            continue  # general playbooks (weak signal, battery, hub) need the customer's words or the evidence
        if best is None or score > best[0]:
            best = (score, book)
    return best[1] if best else None


def _normal(text: str) -> str:
    """Lower case, no apostrophes, words only: "won't" and the symptom code "wont_turn_on" compare."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower().replace("'", "").replace("’", "")).split())
