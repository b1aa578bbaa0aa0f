"""The dialogue engine's capabilities as function tools, and the gate every call passes.

The model only proposes. Each call is parsed against a strict argument model, resolved to
one real device, checked against the device's capabilities (device_bridge.devices), checked
against what the customer actually said (grounding.py), and then carried out through the
engine's own Capabilities and RulesConversation, so forbidden devices stay forbidden and a
sensitive command only ever becomes the engine's pending confirmation, which the customer
answers by voice on the next turn. No tool argument can claim that confirmation.

Tools come in two kinds. Lookups (find_devices, get_device_state, get_ticket_status) return data
to the model, which then answers. Actions (set_device_state, troubleshoot_device,
escalate_to_human) end the model's part of the turn: the customer hears the engine's own sentence
about what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from device_bridge.devices import Device, InvalidCommand, validate_changes
from voicebot.dialogue.describe import device_label
from voicebot.dialogue.llm.grounding import grounded
from voicebot.dialogue.results import rejection_text
from voicebot.dialogue.rules import Pending, RulesConversation
from voicebot.dialogue.types import Action, Reply

DOMAINS = ["light", "switch", "fan", "cover", "climate", "lock", "sensor", "binary_sensor", "media_player", "vacuum"]
MAX_ACTIONS_PER_TURN = 4
LOOKUPS = ("find_devices", "get_device_state", "get_ticket_status")


def _fn(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


# Kept short: every token here is evaluated with every prompt (a 135M model on 2 cores reads a
# few hundred tokens a second), and capable models need no more than this.
_DEVICE = {"type": "string"}

TOOL_SCHEMAS: list[dict[str, Any]] = [
    _fn("find_devices", "Find devices by name, area or kind.", {"name": _DEVICE, "area": _DEVICE, "domain": _DEVICE}, []),
    _fn("get_device_state", "Read a device's state and health.", {"device": _DEVICE}, ["device"]),
    _fn(
        "set_device_state",
        "Change a device as the customer asked.",
        {
            "device": _DEVICE,
            "state": {"type": "string", "description": "on, off, open, closed, locked, unlocked, heat..."},
            "brightness_pct": {"type": "integer"},
            "temperature": {"type": "number"},
            "position": {"type": "integer"},
            "color_name": {"type": "string"},
        },
        ["device"],
    ),
    _fn("troubleshoot_device", "Troubleshoot a problem step by step.", {"device": _DEVICE, "symptom": _DEVICE}, ["symptom"]),
    _fn("escalate_to_human", "Hand over to a human agent.", {"problem": _DEVICE}, ["problem"]),
    _fn("get_ticket_status", "Look up a support ticket.", {"ticket": _DEVICE}, []),
]
TOOL_NAMES = tuple(t["function"]["name"] for t in TOOL_SCHEMAS)


class _Args(BaseModel):
    # Unknown arguments are refused, not ignored: "confirmed": true must not slip through.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FindArgs(_Args):
    name: str | None = Field(None, max_length=100)
    area: str | None = Field(None, max_length=100)
    domain: str | None = Field(None, max_length=30)  # "lights" or "lamp" is read loosely, see _find

    def kind(self) -> str | None:
        if not self.domain:
            return None
        word = self.domain.lower().strip().rstrip("s").replace(" ", "_")
        return next((d for d in DOMAINS if d == word or d.startswith(word)), None)


class DeviceArgs(_Args):
    device: str = Field(min_length=1, max_length=100)


class SetArgs(DeviceArgs):
    state: str | None = Field(None, max_length=30)
    brightness_pct: int | None = Field(None, ge=0, le=100)
    temperature: float | None = None
    position: int | None = Field(None, ge=0, le=100)
    color_name: str | None = Field(None, max_length=30)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude={"device"}, exclude_none=True)


class TroubleshootArgs(_Args):
    device: str | None = Field(None, max_length=100)
    symptom: str = Field(min_length=1, max_length=300)


class EscalateArgs(_Args):
    problem: str = Field(min_length=1, max_length=500)


class TicketArgs(_Args):
    ticket: str | None = Field(None, max_length=100)  # the store reads the digits out of it


ARGS: dict[str, type[_Args]] = {
    "find_devices": FindArgs,
    "get_device_state": DeviceArgs,
    "set_device_state": SetArgs,
    "troubleshoot_device": TroubleshootArgs,
    "escalate_to_human": EscalateArgs,
    "get_ticket_status": TicketArgs,
}


class BadToolCall(ValueError):
    """The model asked for a tool that does not exist, or gave arguments that do not fit it."""


@dataclass
class ToolOutcome:
    """What one call did. ``data`` goes back to the model; ``reply`` (actions only) is spoken."""

    name: str
    arguments: dict[str, Any]
    status: str  # ok | done | needs_confirmation | forbidden | refused | not_found | ambiguous | invalid | <Outcome>
    data: dict[str, Any] = field(default_factory=dict)
    reply: Reply | None = None
    device_ids: list[str] = field(default_factory=list)

    def trace(self) -> dict[str, Any]:
        return {"tool": self.name, "arguments": self.arguments, "status": self.status, "devices": self.device_ids}


def parse(name: str, arguments: dict[str, Any] | None) -> _Args:
    model = ARGS.get(name)
    if model is None:
        raise BadToolCall(f"unknown tool {name!r}")
    if arguments is None:
        raise BadToolCall(f"arguments for {name} are not a JSON object")
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        raise BadToolCall(f"invalid arguments for {name}: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}") from exc


class ToolRunner:
    """Runs the model's tool calls for one turn of one conversation."""

    def __init__(self, rules: RulesConversation, customer_text: str, recent_device_ids: set[str]) -> None:
        self.rules = rules
        self.caps = rules.caps
        self.customer_text = customer_text
        self.recent = recent_device_ids
        self.actions_taken = 0

    def run(self, name: str, arguments: dict[str, Any] | None) -> ToolOutcome:
        """Raises BadToolCall for unknown tools and malformed arguments (the turn then falls back)."""
        args = parse(name, arguments)
        shown = args.model_dump(exclude_none=True)
        if isinstance(args, FindArgs):
            return self._find(shown, args)
        if isinstance(args, TicketArgs):
            # The engine's own sentence (it checks the ticket belongs to this customer) as data.
            return ToolOutcome(name, shown, "ok", {"ticket_status": self.caps.ticket_status(args.ticket)})
        if name == "get_device_state":
            assert isinstance(args, DeviceArgs)
            return self._state(shown, args)
        if self.actions_taken >= MAX_ACTIONS_PER_TURN:
            return ToolOutcome(name, shown, "refused", {"error": "too many actions in one turn"})
        self.actions_taken += 1
        if isinstance(args, SetArgs):
            return self._set(shown, args)
        if isinstance(args, TroubleshootArgs):
            return self._troubleshoot(shown, args)
        assert isinstance(args, EscalateArgs)
        reply = self.rules._escalate("asked", self.rules._problem_so_far(self.customer_text))
        return ToolOutcome(name, shown, "done", reply=reply)

    # lookups ---------------------------------------------------------------------------
    def _find(self, shown: dict[str, Any], args: FindArgs) -> ToolOutcome:
        found = self.caps.find_devices(args.name, args.area, args.kind())
        if not found and args.area:  # areas are spoken loosely ("lounge"): retry on the name alone
            found = self.caps.find_devices(args.name, None, args.kind())
        listed = [describe(d) for d in found[:12]]
        return ToolOutcome("find_devices", shown, "ok", {"devices": listed}, device_ids=[d.id for d in found[:12]])

    def _state(self, shown: dict[str, Any], args: DeviceArgs) -> ToolOutcome:
        device, problem = self.resolve(args.device)
        if device is None:
            return ToolOutcome("get_device_state", shown, problem[0], problem[1])
        report = self.caps.device_report(device.id)
        data = {
            "device": describe(device),
            "state": report.state,
            "telemetry": report.telemetry,
            "findings": [{"check": f.check, "result": f.result, "detail": f.detail} for f in report.findings],
            "summary": report.text,
        }
        return ToolOutcome("get_device_state", shown, "ok", data, device_ids=[device.id])

    # actions ---------------------------------------------------------------------------
    def _set(self, shown: dict[str, Any], args: SetArgs) -> ToolOutcome:
        name = "set_device_state"
        device, problem = self.resolve(args.device)
        if device is None:
            return ToolOutcome(name, shown, problem[0], problem[1])
        changes = args.changes()
        if not grounded(device, self.customer_text, self.recent, self.caps.bridge.devices()):
            # Most likely words from data (a device name, a sensor value) talking to the model.
            return ToolOutcome(
                name, shown, "refused", {"error": "the customer did not ask to change this device"}, device_ids=[device.id]
            )
        try:
            current = self.caps.bridge.get(device.id).state
            normal = validate_changes(device, changes, current)
        except InvalidCommand as exc:
            error = rejection_text(self.caps.replies, self.caps.language, exc)
            return ToolOutcome(name, shown, "invalid", {"error": error, "code": exc.code.value}, device_ids=[device.id])
        why = f"you said: {self.rules._current}; my language model read that as this request"
        out = self.caps.set_state(device.id, normal, why)
        if out.status == "needs_confirmation":
            # The engine's own pending confirmation: only the customer's spoken "yes" on the next
            # turn, read by the rules policy, carries the command out.
            self.rules.pending = Pending("confirm", device.id, out.changes, why=f"you asked and confirmed: {self.rules._current}")
            return ToolOutcome(name, shown, out.status, reply=Reply(text=out.text), device_ids=[device.id])
        actions: list[Action] = [out.action] if out.action else []
        return ToolOutcome(name, shown, out.status, reply=Reply(text=out.text, actions=actions), device_ids=[device.id])

    def _troubleshoot(self, shown: dict[str, Any], args: TroubleshootArgs) -> ToolOutcome:
        device_id = None
        if args.device:
            device, _problem = self.resolve(args.device)
            device_id = device.id if device else None
        if device_id is None:
            general = self.caps.start_playbook(None, f"{args.symptom} {self.customer_text}")
            if general is None:
                return ToolOutcome("troubleshoot_device", shown, "not_found", {"error": "no matching device or playbook"})
            return ToolOutcome("troubleshoot_device", shown, "done", reply=self.rules._run_reply(general))
        reply = self.rules._start_playbook(device_id, args.symptom)
        return ToolOutcome("troubleshoot_device", shown, "done", reply=reply, device_ids=[device_id])

    def resolve(self, ref: str) -> tuple[Device | None, tuple[str, dict[str, Any]]]:
        """One device for a name or id the model gave, or the reason there is none."""
        devices = self.caps.bridge.devices()
        for d in devices:
            if ref == d.id:
                return d, ("ok", {})
        exact = [d for d in devices if ref.lower() in (d.name.lower(), *(a.lower() for a in d.aliases))]
        found = exact or self.caps.find_devices(ref)
        if len(found) == 1:
            return found[0], ("ok", {})
        if not found:
            return None, ("not_found", {"error": f"no device called {ref}"})
        return None, ("ambiguous", {"error": "several devices fit", "candidates": [describe(d) for d in found[:6]]})


def describe(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "name": device.name,
        "label": device_label(device),
        "area": device.area,
        "domain": device.type.value,
        "device_class": device.device_class,
    }
