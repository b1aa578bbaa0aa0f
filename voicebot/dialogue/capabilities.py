"""Everything the dialogue can do, as plain typed methods: the rules policy calls them, and the
LLM policy offers them as tools. Policies (forbidden devices, confirmation of sensitive
commands, tracing, ticket publishing) live here, so no policy can go around them.

One ``Capabilities`` object belongs to one conversation (it knows whom it is talking to, for
the trace and for tickets).
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from rapidfuzz import fuzz, process

from device_bridge.devices import CommandResult, Device, DeviceControl, DeviceType, Outcome
from voicebot.dialogue.checks import CHECKS, Finding, run_check
from voicebot.dialogue.describe import describe_state, device_label, spoken_change
from voicebot.dialogue.escalation import what_happens_next
from voicebot.dialogue.playbook import Playbook, select_playbook
from voicebot.dialogue.replies import Replies
from voicebot.dialogue.results import result_text
from voicebot.dialogue.safety import requested_state, risk_of
from voicebot.dialogue.settings import DialogueSettings
from voicebot.dialogue.troubleshoot import PlaybookRun, RunOutput
from voicebot.dialogue.types import Action
from voicebot.store import Store, Ticket

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Where tickets go for agent tools (an MQTT connection)."""

    def publish(self, topic: str, payload: str, qos: int = 1, retain: bool = False) -> Any: ...


@dataclass
class CommandOutcome:
    """What came of a request to change a device."""

    status: str  # an Outcome value (confirmed, moving, not_confirmed, ...), or "needs_confirmation" | "forbidden"
    device: Device
    changes: dict[str, Any]
    text: str  # the sentence for the customer
    action: Action | None = None  # set when a command was actually sent
    observed: dict[str, Any] = field(default_factory=dict)
    in_progress: bool = False  # started (a cover on its way, status "moving"), not yet arrived
    started_from: dict[str, Any] = field(default_factory=dict)  # the device's state before the command
    result: CommandResult | None = None  # the bridge's facts, when the command was tried
    code: str = ""  # the fact behind the status (device_bridge.devices.Code value), when tried

    @property
    def ok(self) -> bool:
        return self.status == Outcome.CONFIRMED.value

    @property
    def moving(self) -> bool:
        """Started but not arrived: ``Capabilities.follow_movement`` gives the final outcome."""
        return self.status == Outcome.MOVING.value


@dataclass
class DeviceReport:
    device: Device
    state: dict[str, Any]
    telemetry: dict[str, Any]
    findings: list[Finding]
    text: str  # "The kitchen light is on at 40%."


@dataclass
class Escalation:
    ticket: Ticket
    transfer: bool  # hand the call to an agent now
    text: str  # what happens next, honestly


@dataclass
class ConversationFacts:
    """What a ticket needs from the conversation around the capabilities."""

    transcript: list[dict[str, str]] = field(default_factory=list)  # {"user": redacted, "bot": reply}
    sentiments: list[float] = field(default_factory=list)
    frustrated: bool = False


class Capabilities:
    def __init__(
        self,
        bridge: DeviceControl,
        store: Store,
        settings: DialogueSettings,
        playbooks: dict[str, Playbook],
        replies: Replies,
        publisher: Publisher | None,
        conversation_id: str,
        customer_id: str | None = None,
        channel: str = "chat",
        caller: str | None = None,
        language: str = "en",
    ) -> None:
        self.bridge = bridge
        self.store = store
        self.settings = settings
        self.playbooks = playbooks
        self.replies = replies
        self.publisher = publisher
        self.conversation_id = conversation_id
        self.customer_id = customer_id
        self.channel = channel
        self.caller = caller
        self.language = language
        self.facts = ConversationFacts()
        self.run: PlaybookRun | None = None  # the troubleshooting in progress
        self.availability: Any = None  # the engine's AvailabilityLog (checks.py), for "keeps dropping off"
        self.finished_runs: list[PlaybookRun] = []

    # finding devices ------------------------------------------------------------------
    def find_devices(
        self, name: str | None = None, area: str | None = None, domain: str | None = None
    ) -> list[Device]:
        """Devices matching a spoken name (fuzzy, for misheard names), an area and a domain."""
        devices = self.bridge.devices()
        if domain:
            devices = [d for d in devices if d.type.value == domain]
        if area:
            a = area.lower()
            devices = [d for d in devices if (d.area or "").lower() == a]
        if not name:
            return devices
        labels = {d.id: [d.name.lower(), *(x.lower() for x in d.aliases)] for d in devices}
        choices = {f"{i}\x00{n}": n for i, names in labels.items() for n in names}
        hits = process.extract(name.lower(), choices, scorer=fuzz.WRatio, limit=10, score_cutoff=80)
        best: dict[str, float] = {}
        for _, score, key in hits:
            did = key.split("\x00", 1)[0]
            best[did] = max(best.get(did, 0.0), score)
        if not best:
            return []
        top = max(best.values())
        by_id = {d.id: d for d in devices}
        return [by_id[i] for i, s in sorted(best.items(), key=lambda kv: -kv[1]) if s >= top - 2]

    def device(self, device_id: str) -> Device:
        for d in self.bridge.devices():
            if d.id == device_id:
                return d
        raise KeyError(f"no device {device_id!r}")

    # reading -------------------------------------------------------------------------
    def device_report(self, device_id: str, checks: bool = True) -> DeviceReport:
        """The device's state and telemetry, with the health checks that apply to it."""
        st = self.bridge.get(device_id)
        device = st.device
        findings: list[Finding] = []
        if checks:
            for name in ("available", "recently_seen", "link_quality", "battery"):
                findings.append(CHECKS[name].fn(self.bridge, device, st, {}))
            if device.type is DeviceType.SENSOR:
                findings.append(run_check("plausible", self.bridge, device, {}))
        label = device_label(device, self.language)
        if st.telemetry.available is False:
            text = self.replies.say("state_offline", self.language, device=label)
        else:
            text = self.replies.say("state_is", self.language, device=label, state=describe_state(device, st.state, self.language))
        return DeviceReport(device, dict(st.state), asdict(st.telemetry), findings, _cap(text))

    # changing ------------------------------------------------------------------------
    def sensitive(self, device: Device, changes: dict[str, Any]) -> bool:
        return self.risk(device, changes) is not None

    def risk(self, device: Device, changes: dict[str, Any]) -> str | None:
        """ "confirm" (a spoken yes first), "forbid" (never from here) or None, by safety.yaml's
        risky classes, the configured overrides and sensitive_commands (voicebot.dialogue.safety)."""
        want = requested_state(device, changes)
        legacy = any(
            rule.domain == device.type.value
            and (rule.device_class is None or rule.device_class == device.device_class)
            and rule.state == want
            for rule in self.settings.sensitive_commands
        )
        risk = risk_of(device, changes, self.settings.risky_classes, self.settings.risky_devices, also_confirm=legacy)
        if risk is None:
            return None
        return "forbid" if self.settings.sensitive_policy == "forbid" else risk.policy

    def forbidden(self, device: Device) -> bool:
        names = {device.id.lower(), device.name.lower(), *(a.lower() for a in device.aliases)}
        return any(f.lower() in names for f in self.settings.forbidden_devices)

    def set_state(
        self, device_id: str, changes: dict[str, Any], why: str, confirmed: bool = False, moving_ok: bool = True
    ) -> CommandOutcome:
        """Change a device and wait for it to confirm. ``why`` goes into the trace ("you asked: ...").
        Sensitive commands return "needs_confirmation" until called again with ``confirmed=True``
        after the customer said yes; forbidden devices and sensitive commands under the "forbid"
        policy are refused without sending anything. ``moving_ok``: a cover or lock reporting it is
        on its way ends the wait with status "moving" ("Closing the blinds."); ``follow_movement``
        then gives the final outcome (troubleshooting passes False: it must see the cover arrive)."""
        device = self.device(device_id)
        label = device_label(device, self.language)
        if self.forbidden(device):
            self.record("refused", device, {"changes": changes, "why": why, "rule": "forbidden_devices"})
            return CommandOutcome("forbidden", device, changes, self.replies.say("forbidden_device", self.language, device=label))
        risk = self.risk(device, changes)
        if risk is not None:
            if risk == "forbid":
                self.record("refused", device, {"changes": changes, "why": why, "rule": "sensitive_policy"})
                return CommandOutcome(
                    "forbidden", device, changes, self.replies.say("sensitive_forbidden", self.language, device=label)
                )
            if not confirmed:
                return CommandOutcome(
                    "needs_confirmation",
                    device,
                    changes,
                    self.replies.say("confirm_sensitive", self.language, device=label, change=spoken_change(device, changes, language=self.language)),
                )
        # A cover that reports it is moving toward the target ends the wait as "moving": the
        # customer hears "closing the blinds" at once, and the arrival (or not) is followed up.
        result = self.bridge.set(device_id, changes, timeout=self.settings.command_timeout_s, moving_ok=moving_ok)
        # Offline and rejected commands were never sent: they are not actions on the device.
        sent = result.outcome not in (Outcome.OFFLINE, Outcome.REJECTED)
        return self._outcome(device, changes, why, confirmed, result, sent)

    def follow_movement(self, out: CommandOutcome, timeout: float = 60.0) -> CommandOutcome:
        """The final outcome of a command that started moving (status "moving"): arrived
        ("The living room blinds are closed now."), stopped short at a position, still moving
        when ``timeout`` ended, or the hub gone. Blocking; anything else is returned as it is."""
        if not out.moving or out.result is None:
            return out
        result = self.bridge.follow(out.result, timeout=timeout)
        return self._outcome(out.device, out.changes, "follow-up of the movement", False, result, True, follow_up=True)

    def _outcome(self, device: Device, changes: dict[str, Any], why: str, confirmed: bool, result: CommandResult,
                 sent: bool, follow_up: bool = False) -> CommandOutcome:
        action = Action(device.id, device.name, dict(changes), result.outcome.value, result.reason) if sent else None
        self.record(
            "command",
            device,
            {
                "changes": changes,
                "why": why,
                "outcome": result.outcome.value,
                "code": result.code.value,
                "facts": result.facts,
                "observed": result.observed,
                "in_progress": result.in_progress,
                "follow_up": follow_up,
                "confirmed_by_customer": confirmed,
            },
        )
        text = result_text(self.replies, self.language, result)
        if follow_up and result.ok:
            text = self.replies.say("result_arrived", self.language, device=device_label(device, self.language),
                                    state=describe_state(device, {**result.requested, **result.observed}, self.language))
        return CommandOutcome(result.outcome.value, device, changes, text, action, dict(result.observed),
                              result.in_progress, dict(result.before), result, result.code.value)

    # troubleshooting -----------------------------------------------------------------
    def start_playbook(self, device_id: str | None, symptom: str, playbook_id: str | None = None) -> RunOutput | None:
        """Start the playbook that fits (or the one named); None when none fits. The device's
        evidence is read first: it chooses the playbook before the customer's words do."""
        device = self.device(device_id) if device_id else None
        context = {"_history": self.availability, "_requested": self._last_request(device_id)}
        evidence = None
        if device is not None:
            # "It keeps dropping off": watch its connection for a few seconds when the log has not seen it yet.
            args = {"watch_s": self.settings.watch_drops_s} if _DROPPING.search(symptom.lower()) else {}
            try:
                evidence = run_check("evidence", self.bridge, device, args, context)
            except Exception:  # no evidence is no reason not to help
                log.exception("could not read the evidence of %s", device.id)
        if playbook_id:
            book = self.playbooks.get(playbook_id)
        else:
            book = select_playbook(
                self.playbooks, device.type.value if device else None, device.device_class if device else None, symptom,
                evidence.result if evidence else None,
            )
        if book is None or (book.applies_to.needs_device and device is None):
            return None
        self.run = PlaybookRun(
            self.playbooks, book, self.bridge, device, self._playbook_command, self.language,
            self.settings.max_playbook_steps, context, evidence,
        )
        self.record("playbook", device, {"playbook": book.id, "event": "start", "symptom": symptom,
                                         "evidence": evidence.detail if evidence else None})
        return self._after_run(self.run.start())

    def _last_request(self, device_id: str | None) -> dict[str, Any] | None:
        """The changes this conversation last asked of the device, when the device did not confirm them."""
        if not device_id:
            return None
        try:
            entries = self.store.trace(self.conversation_id, None, kind="command", limit=20)
        except Exception:
            return None
        for e in entries:
            if e.device_id == device_id:
                if e.data.get("outcome") == Outcome.CONFIRMED.value and not e.data.get("in_progress"):
                    return None
                changes = e.data.get("changes")
                return dict(changes) if isinstance(changes, dict) else None
        return None

    def continue_playbook(self, answer: str, text: str = "") -> RunOutput:
        """Give the running playbook the customer's answer: yes, no, done, unclear (or a choice in ``text``)."""
        if self.run is None:
            raise RuntimeError("no troubleshooting is in progress")
        return self._after_run(self.run.answer(answer, text))

    def stop_playbook(self) -> None:
        if self.run is not None:
            self.record("playbook", self.run.device, {"playbook": self.run.book.id, "event": "stopped"})
            self.finished_runs.append(self.run)
            self.run = None

    def _after_run(self, out: RunOutput) -> RunOutput:
        run = self.run
        if run is not None and out.finished:
            self.record(
                "playbook", run.device, {"playbook": run.book.id, "event": out.finished, "steps": [h.as_dict() for h in run.history]}
            )
            self.finished_runs.append(run)
            self.run = None
        return out

    def _playbook_command(
        self, device: Device, changes: dict[str, Any], why: str, confirmed: bool = False
    ) -> tuple[str, Action | None, str]:
        # A check: the cover must arrive. A risky device asks for a yes first, as for any request.
        out = self.set_state(device.id, changes, why, confirmed=confirmed, moving_ok=False)
        return out.status, out.action, out.text

    # escalation and tickets ----------------------------------------------------------
    def escalate(self, reason: str, problem: str, device_ids: list[str] | None = None, urgent: bool = False) -> Escalation:
        """Open a ticket an agent can act on, publish it, and say honestly what happens next."""
        # Troubleshooting that ended resolved earlier in the call is another matter; leave it out.
        runs = [r for r in self.finished_runs if r.finished != "resolved"] + ([self.run] if self.run else [])
        devices = list(dict.fromkeys([*(device_ids or []), *(r.device.id for r in runs if r.device)]))
        telemetry = {}
        for did in devices:
            try:
                st = self.bridge.get(did)
                telemetry[did] = {"name": st.device.name, "area": st.device.area, "type": str(st.device.type), "state": st.state,
                                 **asdict(st.telemetry)}
            except Exception as exc:  # the ticket still goes out without this device's readings
                telemetry[did] = {"error": str(exc)}
        sentiments = self.facts.sentiments
        summary: dict[str, Any] = {
            "problem": problem,
            "reason": reason,
            "urgent": urgent,
            "customer_id": self.customer_id,
            "caller": self.caller,
            "channel": self.channel,
            "conversation_id": self.conversation_id,
            "steps": [h.as_dict() for r in runs for h in r.history],
            "playbooks": [r.book.id for r in runs],
            "devices": telemetry,
            "sentiment": {
                "last": sentiments[-1] if sentiments else None,
                "average": round(sum(sentiments) / len(sentiments), 3) if sentiments else None,
                "frustrated": self.facts.frustrated,
            },
            "transcript": list(self.facts.transcript),
        }
        summary["summary_text"] = _summary_text(summary)
        ticket = self.store.create_ticket(self.conversation_id, self.customer_id, reason, problem, summary)
        self.stop_playbook()
        self.record("escalation", None, {"ticket": ticket.id, "reason": reason, "problem": problem})
        self._publish(self.settings.ticket_topic, {"ticket": ticket.id, "created_at": ticket.created_at, **summary})
        nxt = what_happens_next(
            self.settings, ticket.id, self.channel == "phone", self._have_number(), self.replies, self.language
        )
        return Escalation(ticket, nxt.transfer, nxt.text)

    def _have_number(self) -> bool:
        if self.caller:
            return True
        if self.customer_id:
            customer = self.store.customer(self.customer_id)
            return bool(customer and customer.phones)
        return False

    def ticket_status(self, ticket_id: str | None = None) -> str:
        """The status of a ticket: the one named, else this customer's latest (across conversations)."""
        ticket: Ticket | None = None
        if ticket_id:
            ticket = self.store.ticket(ticket_id)
            # A ticket number alone is not proof of identity: only the owner hears the details.
            if ticket is not None and ticket.customer_id not in (None, self.customer_id):
                ticket = None
        else:
            tickets = self.store.tickets_for_customer(self.customer_id) if self.customer_id else []
            tickets = tickets or self.store.tickets_for_conversation(self.conversation_id)
            ticket = tickets[0] if tickets else None
        if ticket is None:
            key = "ticket_unknown" if ticket_id else ("ticket_none" if self.customer_id else "ticket_none_anonymous")
            return self.replies.say(key, self.language, ticket=ticket_id or "")
        when = time.strftime(self.replies.say("date_format", self.language, part=True), time.localtime(ticket.created_at))
        status = self.replies.say(f"status_{ticket.status}", self.language, part=True)
        text = self.replies.say("ticket_status", self.language, ticket=ticket.id, when=when, problem=ticket.problem, status=status)
        if ticket.note:
            text += " " + self.replies.say("ticket_note", self.language, note=ticket.note)
        return text

    # explaining ----------------------------------------------------------------------
    def explain(self, device_id: str | None = None, state: str | None = None) -> str:
        """Why a device was changed, from this bot's own trace (this conversation, then this
        customer's earlier ones). ``state``: the change asked about ("off", "unlocked")."""
        entries = self.store.trace(self.conversation_id, self.customer_id, kind="command", limit=100)
        for e in entries:
            if (device_id and e.device_id != device_id) or e.data.get("follow_up"):
                continue
            changes = e.data.get("changes", {})
            want = str(changes.get("state", changes.get("hvac_mode", ""))).lower()
            if state and want != state.lower():
                continue
            try:
                device = self.device(e.device_id or "")
            except KeyError:
                continue
            at = time.strftime("%H:%M", time.localtime(e.at))
            why = str(e.data.get("why", ""))
            if why.startswith("playbook"):
                because = self.replies.say("why_playbook", self.language)
            else:
                request = why.split(": ", 1)[1] if ": " in why else why
                key = "why_confirmed" if e.data.get("confirmed_by_customer") else "why_asked"
                because = self.replies.say(key, self.language, request=request)
            if e.data.get("outcome") != Outcome.CONFIRMED.value:
                because += " " + self.replies.say("why_not_confirmed", self.language)
            return self.replies.say(
                "why_answer", self.language, change=spoken_change(device, changes, past=True, language=self.language), at=at, because=because
            )
        return self.replies.say("why_nothing", self.language)

    # tracing -------------------------------------------------------------------------
    def record(self, kind: str, device: Device | None, data: dict[str, Any]) -> None:
        """Add to the trace ("why did you ...?" and tickets read it back)."""
        self.store.add_trace(self.conversation_id, self.customer_id, kind, device.id if device else None, data)

    def _publish(self, topic: str, payload: dict[str, Any]) -> None:
        publisher = self.publisher or bridge_publisher(self.bridge)
        if publisher is None:
            log.warning("no publisher: ticket not published on %s", topic)
            return
        try:
            publisher.publish(topic, json.dumps(payload, default=str), qos=1, retain=False)
        except Exception:  # the ticket is stored; agent tools also read the store
            log.exception("could not publish the ticket on %s", topic)


def bridge_publisher(bridge: Any) -> Publisher | None:
    """The bridge's own MQTT connection, when it has one, carries the tickets."""
    for name in ("conn", "connection", "client", "mqtt"):
        conn = getattr(bridge, name, None)
        if conn is not None and callable(getattr(conn, "publish", None)):
            return conn  # type: ignore[no-any-return]
    return None


def _summary_text(summary: dict[str, Any]) -> str:
    """The ticket as an agent reads it first: problem, steps and their results, device health."""
    lines = [
        f"{'URGENT ' if summary['urgent'] else ''}Problem: {summary['problem']} (reason: {summary['reason']})",
        f"Customer: {summary['customer_id'] or 'unknown'}; caller: {summary['caller'] or '-'}; channel: {summary['channel']}",
    ]
    steps = summary["steps"]
    if steps:
        lines.append("Steps tried:")
        lines += [
            f"  - {s['playbook']}/{s['step']} ({s['kind']}): {s['result']}" + (f" - {s['detail']}" if s["detail"] else "")
            for s in steps
        ]
    for did, d in summary["devices"].items():
        if "error" in d:
            lines.append(f"Device {did}: could not be read ({d['error']})")
            continue
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d["last_seen"])) if d.get("last_seen") else "never"
        lines.append(
            f"Device {d['name']} ({d.get('area') or 'no area'}): state {d['state']}, available {d.get('available')}, "
            f"last seen {seen}, link quality {d.get('linkquality')}, battery {d.get('battery')}"
        )
    sent = summary["sentiment"]
    lines.append(f"Sentiment: last {sent['last']}, average {sent['average']}, frustrated {'yes' if sent['frustrated'] else 'no'}")
    lines.append(f"Transcript: {len(summary['transcript'])} turns (redacted) in the ticket")
    return "\n".join(lines)


_DROPPING = re.compile(
    r"\b(keeps? (dropping|going|disconnecting|losing)|drops? (off|out)|dropping|goes offline|going offline|"
    r"disconnect\w*|intermittent\w*|on and off|comes and goes|unavailable|offline|"
    r"f[aä]llt .*aus|getrennt|se desconecta\w*|desconect\w*)\b"
)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
