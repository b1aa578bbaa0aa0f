"""What the bot suggests to the agent: next steps from the playbooks, tickets like this one that
agents resolved (and how), and a reply the agent can edit before it is sent or spoken."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from voicebot.console.db import Resolution
from voicebot.dialogue.playbook import Playbook
from voicebot.store import Customer, Ticket


@dataclass(frozen=True)
class StepSuggestion:
    playbook: str
    step: str
    text: str  # what the step asks or says, or the check it runs


@dataclass(frozen=True)
class SimilarTicket:
    ticket: Ticket
    resolution: Resolution
    score: float  # 0..100


def next_steps(ticket: Ticket, playbooks: dict[str, Playbook], language: str = "en", limit: int = 5) -> list[StepSuggestion]:
    """Steps of the ticket's playbooks the bot did not get to, in the playbook's order."""
    summary = ticket.summary or {}
    tried = {(s.get("playbook"), s.get("step")) for s in summary.get("steps", []) if isinstance(s, dict)}
    names = [str(d["name"]) for d in (summary.get("devices") or {}).values() if isinstance(d, dict) and d.get("name")]
    return _untried([str(b) for b in summary.get("playbooks", [])], tried, playbooks, language, limit,
                    names[0].lower() if names else "the device")


def _untried(book_ids: list[str], tried: set[tuple[Any, Any]], playbooks: dict[str, Playbook], language: str,
             limit: int, device: str) -> list[StepSuggestion]:
    out: list[StepSuggestion] = []
    for book_id in book_ids:
        book = playbooks.get(book_id)
        if book is None:
            continue
        for step_id, step in book.steps.items():
            if (book.id, step_id) in tried or step.end is not None:
                continue
            text = ""
            if step.ask is not None:
                text = book.text(step.ask, language)
            elif step.say is not None:
                text = book.text(step.say, language)
            elif step.check:
                text = f"check: {step.check}"
            elif step.command:
                text = f"command: {step.command}"
            if text:
                out.append(StepSuggestion(book.title, step_id, text.replace("{device}", device)))
            if len(out) >= limit:
                return out
    return out


def steps_after(playbooks: dict[str, Playbook], book_id: str, step_id: str, language: str = "en",
                limit: int = 5, device: str = "the device") -> list[StepSuggestion]:
    """The steps of a playbook under way that come after the current one, in the playbook's order."""
    book = playbooks.get(book_id)
    if book is None:
        return []
    ids = list(book.steps)
    later = ids[ids.index(step_id) + 1:] if step_id in ids else ids
    return _untried([book_id], {(book_id, s) for s in ids if s not in later}, playbooks, language, limit, device)


def similar_resolved(ticket: Ticket, tickets: list[Ticket], resolutions: dict[str, Resolution],
                     limit: int = 3, min_score: float = 45.0) -> list[SimilarTicket]:
    """Resolved tickets whose problem reads like this one's (rapidfuzz token-set ratio)."""
    found = []
    for other in tickets:
        res = resolutions.get(other.id)
        if other.id == ticket.id or res is None:
            continue
        score = fuzz.token_set_ratio(ticket.problem.lower(), other.problem.lower())
        if other.reason == ticket.reason:
            score = min(100.0, score + 5)
        if score >= min_score:
            found.append(SimilarTicket(other, res, score))
    return sorted(found, key=lambda s: -s.score)[:limit]


def suggested_reply(ticket: Ticket | None, customer: Customer | None, agent: str,
                    steps: list[StepSuggestion], similar: list[SimilarTicket]) -> str:
    """An opening the agent edits: who is speaking, about what, and the first thing to try."""
    name = f" {customer.name}" if customer and customer.name else ""
    about = f" about ticket {ticket.id}" if ticket else ""
    text = f"Hello{name}, this is {agent} from support{about}. I have read what you told our assistant."
    if similar:
        text += f" Customers with the same problem were helped by this: {similar[0].resolution.text}"
    elif steps:
        text += f" Let's try one more thing: {steps[0].text}"
    return text
