"""Text → Understanding: intent, slots, devices, sentiment, safety. Pure and I/O-free.

    understander = Understander(bridge.devices, bridge.areas)
    context = ConversationContext()
    u = understander.understand("can you make it a bit darker in here", context, speaker_area="Kitchen")
    ... act on u ...
    context.update(u)

The steps: normalise the transcript; find what it names (devices, areas, kinds, references);
pick the first intent rule that matches (data/<lang>_intents.yaml); read the values it needs;
resolve the target devices; fall back on the conversation for follow-ups ("and the bedroom",
"turn it off", the answer to "which one?"). Safety words are flagged whatever the intent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from device_bridge.devices import Area, Device
from voicebot.understand import capabilities as caps
from voicebot.understand import values
from voicebot.understand.context import WHICH_DEVICE, YES_NO, ConversationContext
from voicebot.understand.mentions import HomeIndex, Mentions
from voicebot.understand.normalize import normalize
from voicebot.understand.resolve import Resolver, Target
from voicebot.understand.sentiment import analyze
from voicebot.understand.types import DEVICE_INTENTS, Understanding
from voicebot.understand.vocabulary import Rule, Vocabulary, load

# Words that may surround a bare target ("the one in the kitchen please").
_ANSWER_WORDS = frozenset(
    ["the", "a", "an", "one", "ones", "in", "on", "at", "of", "my", "our", "please", "for", "too", "also", "as", "well", "and", "then", "with", "that", "this", "those", "these", "it", "them", "other", "both", "all", "first", "second", "third", "last", "same", "way"]
)
# Longer input (a runaway transcript, a pasted document) is read up to here only.
MAX_CHARS = 2000
# Confidence of a rule match before target resolution is taken into account.
STRONG = 0.9
WEAK = 0.8
FOLLOW_UP = 0.75
PENDING_ANSWER = 0.85


class Understander:
    """Understands one turn against the live registry (``devices()`` and ``areas()`` are
    called on every turn, so renamed or new devices are known at once)."""

    def __init__(
        self,
        devices: Callable[[], Sequence[Device]],
        areas: Callable[[], Sequence[Area]],
        language: str = "en",
    ) -> None:
        self._devices = devices
        self._areas = areas
        self.vocab: Vocabulary = load(language)
        self._index: HomeIndex | None = None
        self._signature: tuple[Any, ...] | None = None

    # ------------------------------------------------------------------ registry snapshot
    def index(self) -> HomeIndex:
        devices = list(self._devices())
        areas = list(self._areas())
        signature = (
            tuple((d.id, d.name, tuple(d.aliases), d.area, str(d.type), d.device_class) for d in devices),
            tuple((a.name, a.floor, tuple(a.aliases)) for a in areas),
        )
        if self._index is None or signature != self._signature:
            self._index = HomeIndex(devices, areas, self.vocab)
            self._signature = signature
        return self._index

    # ------------------------------------------------------------------ the turn
    def understand(
        self,
        text: str,
        context: ConversationContext | None = None,
        speaker_area: str | None = None,
    ) -> Understanding:
        vocab = self.vocab
        plain = normalize(text[:MAX_CHARS], vocab.rewrites, vocab.fillers)
        sentiment = analyze(text[:MAX_CHARS], vocab.language)
        safety = vocab.first_key(vocab.safety, plain)
        index = self.index()
        if speaker_area and speaker_area not in index.areas:
            speaker_area = None  # an unknown room name must not restrict anything
        mentions = index.find(plain)
        resolver = Resolver(index)

        rule = self._classify(plain, context)
        intent: str | None = None
        slots: dict[str, Any] = {}
        confidence = 0.0
        target = Target()
        if rule is not None:
            intent, slots, target = self._apply(rule, plain, mentions, resolver, speaker_area, context)
            confidence = WEAK if rule.weak else STRONG
        if (rule is None or rule.weak) and context is not None and not safety:
            follow = self._follow_up(plain, mentions, resolver, speaker_area, context, weak_intent=intent)
            if follow is not None:
                intent, slots, target, confidence = follow

        if intent is None and safety:
            # "I smell gas": an emergency is a problem report even without a device
            intent, slots, confidence = "ReportProblem", {"symptom": safety}, STRONG
            target = resolver.resolve(mentions, intent, None, speaker_area, None) if mentions.names else Target()
        if intent is not None and (intent in DEVICE_INTENTS or intent == "ReportProblem"):
            slots.update(self._target_slots(mentions, target, index, speaker_area, slots))
            if target.device_ids:
                confidence *= max(0.5, min(1.0, target.score))
            elif target.candidates:
                confidence = min(confidence, 0.6)
            elif intent in DEVICE_INTENTS:
                confidence = min(confidence, 0.5)
        else:
            target = Target()  # support intents act on no device
        if intent is None:
            target = Target()
            confidence = 0.1 if mentions.any_target else 0.0
        if safety:
            slots["safety"] = safety
        return Understanding(
            text=text,
            intent=intent,
            slots=slots,
            confidence=round(confidence, 3),
            device_ids=list(target.device_ids),
            candidates=list(target.candidates),
            sentiment=sentiment,
            language=vocab.language,
        )

    # ------------------------------------------------------------------ steps
    def _classify(self, plain: str, context: ConversationContext | None) -> Rule | None:
        rules = self.vocab.rules
        if context and context.pending and context.pending.kind == YES_NO:
            # "yeah, it's still off" answers the question before it reports anything
            for rule in rules:
                if rule.intent in ("Yes", "No") and rule.match(plain):
                    return rule
        for rule in rules:
            if not rule.weak and rule.match(plain):
                return rule
        for rule in rules:
            if rule.weak and rule.match(plain):
                return rule
        return None

    def _apply(
        self, rule: Rule, plain: str, m: Mentions, resolver: Resolver, speaker_area: str | None,
        context: ConversationContext | None,
    ) -> tuple[str | None, dict[str, Any], Target]:
        vocab = self.vocab
        slots: dict[str, Any] = dict(rule.slots)
        slots.update(rule.fixed_values)
        intent = rule.intent
        allowed: frozenset[str] | None = None
        sign = rule.sign
        step_kind = {"HassLightSet": "brightness", "HassClimateSetTemperature": "temperature",
                     "HassSetVolume": "volume", "HassSetPosition": "position"}
        value_slot: str | None = {"HassLightSet": "brightness", "HassSetVolume": "volume_level",
                                  "HassSetPosition": "position"}.get(intent or "")

        if "symptom" in rule.values:
            symptom = vocab.first_key(vocab.symptoms, plain)
            if symptom:
                slots["symptom"] = symptom
                allowed = caps.SYMPTOM_DOMAINS.get(symptom)

        if rule.action:
            domain = self._action_domain(rule, m, resolver, speaker_area, context)
            table = vocab.actions.get(rule.action, {})
            entry = table.get(domain) if domain else None
            if not isinstance(entry, dict):
                fallback = table.get("default")
                domain = str(fallback) if fallback else None
                entry = table.get(domain) if domain else None
            if not isinstance(entry, dict):
                return None, {}, Target()
            intent = str(entry["intent"])
            slots["domain"] = domain
            sign = int(entry.get("sign", 1)) * rule.sign
            if entry.get("step"):
                step_kind = {intent: str(entry["step"])}
            value_slot = entry.get("value")
            if rule.action == "percent":
                value_slot = value_slot or "position"

        for name in rule.values:
            if name == "temperature":
                slots.update(values.temperature(plain))
            elif name == "percent" and value_slot:
                found = values.percent(plain)
                if found is not None:
                    slots[value_slot] = found
            elif name == "color":
                found_color = values.color(plain, vocab)
                if found_color:
                    slots["color"] = found_color
            elif name == "step" and intent in step_kind:
                kind = step_kind[intent]
                slots[f"{kind}_step"] = values.step(plain, kind, sign, vocab)
            elif name == "state":
                found_state = values.state(plain, vocab)
                if found_state:
                    slots["state"] = found_state
            elif name == "ticket":
                found_ticket = values.ticket(plain)
                if found_ticket:
                    slots["ticket"] = found_ticket
            elif name == "feedback":
                slots["feedback"] = plain

        if intent == "HassClimateSetTemperature" and "temperature" not in slots and "temperature_step" not in slots:
            slots["temperature_step"] = values.step(plain, "temperature", sign, vocab)

        target = Target()
        if rule.target and intent:
            hint = slots.get("domain")
            if intent == "HassClimateGetTemperature" and not m.kinds:
                hint = None  # a thermostat or a temperature sensor will do
            target = resolver.resolve(m, intent, hint, speaker_area, context, allowed)
            if intent == "HassClimateGetTemperature" and not target.device_ids and not target.candidates:
                target = resolver.resolve(m, intent, "climate", speaker_area, context, allowed)
        return intent, slots, target

    def _action_domain(
        self, rule: Rule, m: Mentions, resolver: Resolver, speaker_area: str | None,
        context: ConversationContext | None,
    ) -> str | None:
        """The kind of device a domain-dependent verb ("open", "turn it up") is about."""
        if m.kinds:
            return m.kinds[0].domain
        if rule.slots.get("domain"):
            return str(rule.slots["domain"])
        if m.names or m.fuzzy:
            ids = [i for h in m.names for i in h.device_ids]
            domains = {str(resolver.index.devices[i].type) for i in ids}
            if len(domains) == 1:
                return domains.pop()
        if context and context.last_device_ids and (m.pronoun or not m.any_target):
            devs = resolver.index.devices
            domains = {str(devs[i].type) for i in context.last_device_ids if i in devs}
            if len(domains) == 1:
                return domains.pop()
        if context and context.last_domain:
            return context.last_domain
        return None

    def _follow_up(
        self, plain: str, m: Mentions, resolver: Resolver, speaker_area: str | None,
        context: ConversationContext, weak_intent: str | None,
    ) -> tuple[str, dict[str, Any], Target, float] | None:
        """A turn with no request of its own: the answer to "which one?", or the previous request
        aimed at another target ("what about the bedroom", "and the other one")."""
        pending = context.pending
        names_target = m.any_target or m.other or m.both or m.ordinal is not None
        if pending and pending.kind == WHICH_DEVICE and pending.intent and names_target:
            target = resolver.resolve(m, pending.intent, pending.slots.get("domain"), speaker_area, context)
            if target.device_ids or target.candidates:
                slots = {k: v for k, v in pending.slots.items() if k not in ("name", "area", "floor")}
                return pending.intent, slots, target, PENDING_ANSWER
        if weak_intent in ("Yes", "No") and not names_target:
            return None
        follow_cue = self.vocab.any_match(self.vocab.follow_up, plain)
        only_target = all(
            i in m.covered or t in _ANSWER_WORDS for i, t in enumerate(m.tokens)
        )
        if context.last_intent and names_target and (follow_cue or (weak_intent is None and only_target)):
            intent = context.last_intent
            slots = {k: v for k, v in context.last_slots.items()
                     if k not in ("name", "area", "floor", "device_class")}
            if m.kinds:
                slots.pop("domain", None)
            ctx = ConversationContext(
                last_device_ids=list(context.last_device_ids),
                last_candidates=list(context.last_candidates),
            ) if m.other else None
            allowed = caps.SYMPTOM_DOMAINS.get(slots.get("symptom", "")) if intent == "ReportProblem" else None
            target = resolver.resolve(m, intent, slots.get("domain"), speaker_area, ctx, allowed)
            if target.device_ids or target.candidates:
                return intent, slots, target, FOLLOW_UP
        return None

    def _target_slots(
        self, m: Mentions, target: Target, index: HomeIndex, speaker_area: str | None, slots: dict[str, Any],
    ) -> dict[str, Any]:
        """Home Assistant's target slots: name, area, floor, domain, device_class (canonical names)."""
        out: dict[str, Any] = {}
        if target.name and target.how in ("name", "fuzzy", "pending"):
            out["name"] = target.name
        if m.areas:
            out["area"] = m.areas[0]
        elif m.here and speaker_area:
            out["area"] = speaker_area
        if m.floors:
            out["floor"] = m.floors[0]
        kind = next((k for k in m.kinds if k.domain), None)
        ids = target.device_ids or target.candidates
        domains = {str(index.devices[i].type) for i in ids if i in index.devices}
        if len(domains) == 1:
            out["domain"] = domains.pop()
        elif kind is not None:
            out["domain"] = kind.domain
        elif "domain" in slots:
            out["domain"] = slots["domain"]
        if kind is not None and kind.device_class:
            out["device_class"] = kind.device_class
        return out


