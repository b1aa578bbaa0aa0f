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

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from device_bridge.devices import Area, Device
from voicebot.understand import capabilities as caps
from voicebot.understand import content, language_id, values
from voicebot.understand import ha_slots as ha_slots_mod
from voicebot.understand.context import WHICH_DEVICE, YES_NO, ConversationContext
from voicebot.understand.mentions import HomeIndex, Mentions, NameHit
from voicebot.understand.normalize import normalize
from voicebot.understand.resolve import Resolver, Target
from voicebot.understand.semantic import SemanticLayer, default_layer
from voicebot.understand.sentiment import analyze
from voicebot.understand.templates import TemplateMatch, TemplateRecognizer
from voicebot.understand.types import DEVICE_INTENTS, Understanding
from voicebot.understand.vocabulary import DomainWord, Rule, Vocabulary, VocabularyError, load

# Words that may surround a bare target ("the one in the kitchen please").
_ANSWER_WORDS = frozenset(
    ["the", "a", "an", "one", "ones", "in", "on", "at", "of", "my", "our", "please", "for", "too", "also", "as", "well", "and", "then", "with", "that", "this", "those", "these", "it", "them", "other", "both", "all", "first", "second", "third", "last", "same", "way"]
)
# Words that add nothing to a lone word ("up a bit please").
_SOFTENERS = frozenset(["a", "bit", "little", "please", "now", "just", "the", "then", "thanks"])
# Home Assistant's slot names for a target and the values asked for.
_HA_SLOTS = frozenset(["name", "area", "floor", "domain", "device_class", "state", "brightness", "color",
                       "temperature", "position", "volume_level"])
# Longer input (a runaway transcript, a pasted document) is read up to here only.
MAX_CHARS = 2000
# Confidence of a rule match before target resolution is taken into account.
STRONG = 0.9
WEAK = 0.8
FOLLOW_UP = 0.75
PENDING_ANSWER = 0.85
# A bare target with no request of its own ("kitchen", "bedroom lights?") read as the previous
# request: below the dialogue's confirm_below, so it asks before it acts.
BARE_FOLLOW_UP = 0.6
# A device intent amid mostly unexplained words: below the dialogue's min_confidence.
NONSENSE = 0.3


class Understander:
    """Understands one turn against the live registry (``devices()`` and ``areas()`` are
    called on every turn, so renamed or new devices are known at once)."""

    def __init__(
        self,
        devices: Callable[[], Sequence[Device]],
        areas: Callable[[], Sequence[Area]],
        language: str = "en",
        languages: Sequence[str] = (),
        learned: SemanticLayer | bool | None = True,
    ) -> None:
        """``language`` is the default; ``languages`` are the others to recognise (detected per
        turn from common words unless ``understand(..., language=...)`` names one). ``learned``:
        the learned layer for what no rule matches (True: the shared one; False: none)."""
        self._learned = default_layer() if learned is True else (learned or None)
        self._devices = devices
        self._areas = areas
        self.vocab: Vocabulary = load(language)
        self._vocabs: dict[str, Vocabulary] = {language: self.vocab}
        for other in languages:
            self._vocabs[other] = load(other)
        self._indexes: dict[str, tuple[tuple[Any, ...], HomeIndex]] = {}
        self._templates: dict[str, TemplateRecognizer] = {}

    @property
    def languages(self) -> list[str]:
        return list(self._vocabs)

    def warm_up(self) -> None:
        """Load every configured language's data and templates now rather than on the first turn
        in it (Home Assistant's templates take a few seconds to prepare per language)."""
        for lang, vocab in self._vocabs.items():
            # the rules only: a few marker words are no request, and would load the learned
            # layer's model (~60 MB) in every process, also those whose callers it never serves
            self.understand(" ".join(sorted(vocab.markers)[:3]), language=lang, learned=False)
            if vocab.templates:
                self._template(vocab, "hello", self.index(lang))
            if self._learned is not None:
                self._learned.index(lang)  # built once and cached on disk

    # ------------------------------------------------------------------ registry snapshot
    def index(self, language: str | None = None) -> HomeIndex:
        vocab = self._vocabs.get(language or self.vocab.language, self.vocab)
        devices = list(self._devices())
        areas = list(self._areas())
        signature = (
            tuple((d.id, d.name, tuple(d.aliases), d.area, str(d.type), d.device_class) for d in devices),
            tuple((a.name, a.floor, tuple(a.aliases)) for a in areas),
        )
        cached = self._indexes.get(vocab.language)
        if cached is not None and cached[0] == signature:
            return cached[1]
        index = HomeIndex(devices, areas, vocab)
        self._indexes[vocab.language] = (signature, index)  # one assignment: safe across threads
        return index

    def detect_language(self, text: str, prior: str | None = None) -> str:
        """The configured language the text is in (see language_id.py); ``prior`` (the
        conversation's or the customer's language, else the default) wins when unsure."""
        if len(self._vocabs) == 1:
            return self.vocab.language
        words = normalize(text[:MAX_CHARS]).split()
        markers = {lang: vocab.markers for lang, vocab in self._vocabs.items()}
        chosen = prior if prior in self._vocabs else self.vocab.language
        return language_id.detect(text[:MAX_CHARS], words, markers, chosen)

    # ------------------------------------------------------------------ the turn
    def understand(
        self,
        text: str,
        context: ConversationContext | None = None,
        speaker_area: str | None = None,
        language: str | None = None,
        prior: str | None = None,
        learned: bool = True,
    ) -> Understanding:
        """``language``: the language the turn is in (e.g. Whisper's detection); one this
        understander was not configured for is loaded on first use when data for it exists.
        Without it the language is detected, ``prior`` (the conversation's) winning when unsure.
        ``learned=False``: the rules and templates only (the warm-up; the end-of-turn judgement,
        voicebot/understand/completeness.py, which must be quick)."""
        if language and language not in self._vocabs:
            try:
                self._vocabs[language] = load(language)
            except VocabularyError:
                language = None
        vocab = self._vocabs[language] if language else self._vocabs[self.detect_language(text, prior)]
        plain = normalize(text[:MAX_CHARS], vocab.rewrites, vocab.fillers)
        sentiment = analyze(text[:MAX_CHARS], vocab.language)
        safety = vocab.first_key(vocab.safety, plain)
        index = self.index(vocab.language)
        speaker_area = index.canonical_area(speaker_area)  # None for a room the home lacks
        mentions = index.find(plain)
        areas_said = list(mentions.areas)  # before a template's or the context's area stands in
        resolver = Resolver(index)

        intent: str | None = None
        slots: dict[str, Any] = {}
        confidence = 0.0
        target = Target()
        rule = None
        matched: str | None = None
        question = None if context and context.pending else self._state_question(vocab, plain, mentions, index)
        if question is not None:
            intent, slots, target = question
            confidence, matched = STRONG, f"{vocab.language}.yaml state_questions {slots['device_class']}"
        template = (
            self._template(vocab, text, index, speaker_area)
            if vocab.templates == "primary" and question is None else None
        )
        if (template is not None and not any(c.isdigit() for c in plain)
                and any(template.values.get(k) == 1 for k in ("brightness", "position", "volume_level", "temperature"))
                and vocab.any_match(vocab.particles, plain)):
            # "Küchenlicht ein": the templates read the verb's particle as the number one
            # (brightness 1 %); a value never said is no value, the rules read the request
            template = None
        if template is not None:
            template = _kind_over_area(template, mentions, speaker_area)
        if question is not None:
            pass
        elif template is not None:
            intent, slots, target, mentions = self._from_template(template, mentions, resolver, speaker_area, context)
            confidence, matched = STRONG, f"template {template.intent}"
        else:
            rule = self._classify(vocab, plain, context, mentions, index)
            if rule is not None:
                intent, slots, target = self._apply(
                    vocab, rule, plain, text[:MAX_CHARS], mentions, resolver, speaker_area, context
                )
                confidence = WEAK if rule.weak else STRONG
                pattern = next((p.pattern for p in rule.patterns if p.search(plain)), "")
                matched = f"{vocab.language}_intents.yaml {rule.intent or rule.action}: {pattern}"
        if question is None and template is None and (rule is None or rule.weak) and context is not None and not safety:
            follow = self._follow_up(vocab, plain, mentions, resolver, speaker_area, context, weak_intent=intent)
            if follow is not None:
                intent, slots, target, confidence = follow
                matched = "answer" if confidence == PENDING_ANSWER else "follow-up"

        if intent is None and not safety and vocab.templates == "fallback":
            # Home Assistant's own sentences catch template phrasings the rules do not know
            template = self._template(vocab, text, index, speaker_area)
            if template is not None:
                intent, slots, target, mentions = self._from_template(
                    template, mentions, resolver, speaker_area, context
                )
                confidence, matched = STRONG, f"template {template.intent}"
        if intent is None and not safety and learned and self._learned is not None and not (context and context.pending):
            # wording no rule knows ("suck up the dust"): the nearest known phrasings, asked
            # about rather than acted on unless they agree closely (semantic/layer.py); not for
            # the answer to a question, which is the question's business
            guess = self._learned.guess(text[:MAX_CHARS], plain, vocab, mentions)
            if guess is not None:
                intent, slots, confidence, matched, mentions = (
                    guess.intent, dict(guess.slots), guess.confidence, guess.matched, guess.mentions)
                target = resolver.resolve(mentions, intent, slots.get("domain"), speaker_area, context)
        if intent in ("HassTurnOn", "HassTurnOff") and slots.get("domain") == "cover" and not safety:
            doors = self._doors_as_locks(vocab, intent, plain, mentions, target, resolver, speaker_area, context)
            if doors is not None:
                intent, target, mentions = doors
                slots = {k: v for k, v in slots.items() if k not in _HA_SLOTS}
                slots["domain"] = "lock"
                template = None  # its cover slots are not what was meant
                matched = f"{matched}, doors as their locks"
        if (intent == "HassClimateGetTemperature" and target.device_ids and target.how in ("name", "fuzzy")
                and all(str(index.devices[i].type) == "sensor" for i in target.device_ids)):
            # "what is the furnace temperature?" with a sensor named Furnace: reading a named
            # sensor is asking its state (a thermostat's own temperature is the climate intent)
            intent = "HassGetState"
        not_handled: str | None = None
        if template is None and question is None and intent in DEVICE_INTENTS:
            not_handled = self._not_for_a_device(vocab, rule, intent, slots, plain, mentions, index)
            if not_handled:
                intent, slots, target = None, {}, Target()
        ha_slots: dict[str, Any] | None = template.slots if template is not None else (slots if question else None)
        if question is None and template is None and intent in DEVICE_INTENTS and vocab.templates == "fallback":
            # the rules decided; when Home Assistant's templates read the same request, their
            # slots are the vocabulary HA uses (the devices stay those the rules resolved)
            same = self._template(vocab, text, index, speaker_area)
            same = _kind_over_area(same, mentions, speaker_area) if same is not None else None
            if same is not None and same.intent == intent and same.slots:
                ha_slots = same.slots
                kept = {k: v for k, v in slots.items() if k not in _HA_SLOTS}
                slots = {**kept, **same.slots, **same.values}
        if (intent == "HassGetState" and question is None and not target.device_ids and not target.candidates
                and not any(slots.get(k) for k in ("name", "area", "floor", "domain", "device_class"))
                and slots.get("state") not in ("locked", "unlocked", "open", "closed")  # only doors and such are
                and not mentions.any_target and not mentions.pronoun and not (context and context.last_device_ids)):
            # "check my mail", "how is the traffic", "are there any events on my calendar": a
            # question that names nothing of the home, no kind of device and no earlier device
            # is not a question about the home
            intent, slots, target, not_handled = None, {}, Target(), "no device question: nothing of the home asked about"
        if intent is None and safety:
            # "I smell gas": an emergency is a problem report even without a device
            intent, slots, confidence, matched = "ReportProblem", {"symptom": safety}, STRONG, "safety"
            target = resolver.resolve(mentions, intent, None, speaker_area, None) if mentions.names else Target()
        if intent is not None and (intent in DEVICE_INTENTS or intent == "ReportProblem"):
            if not ha_slots:
                slots.update(self._target_slots(mentions, target, index, speaker_area, slots))
            if intent in DEVICE_INTENTS:
                ha_slots_mod.conform(vocab, intent, slots, target.device_ids, index, areas_said)
            if target.device_ids:
                confidence *= max(0.5, min(1.0, target.score))
            elif target.candidates:
                confidence = min(confidence, 0.6)
            elif intent in DEVICE_INTENTS:
                confidence = min(confidence, 0.5)
        else:
            target = Target()  # support intents act on no device
        if (
            intent in DEVICE_INTENTS and target.how in ("single", "speaker_area")
            and len([t for t in mentions.tokens if t not in _SOFTENERS]) <= 2
            and not mentions.any_target and not mentions.pronoun
        ):
            # "up", "unlock", "twenty degrees" with nothing before them: the device is only
            # implied, so the dialogue asks before it acts
            confidence = min(confidence, BARE_FOLLOW_UP)
        deferred = intent in caps.CHANGING and vocab.any_match(vocab.deferred, plain)
        if deferred:
            # "turn off the lights in 10 minutes", "if it gets dark turn on the lamp": nothing
            # schedules it or watches for the condition; doing it now would be wrong
            confidence = min(confidence, BARE_FOLLOW_UP)
        # a state question's words were all read by its class patterns (and it only reads)
        if intent in DEVICE_INTENTS and question is None and _mostly_nonsense(mentions, slots):
            # "purple monkey dishwasher": a keyword amid words nothing explains is no request;
            # below the dialogue's action threshold, and what it names is at most a question
            confidence = min(confidence, NONSENSE)
            target = Target(candidates=list(dict.fromkeys(target.candidates + target.device_ids)))
        if intent is None:
            target, matched = Target(), not_handled
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
            matched=matched,
            deferred=bool(deferred),
        )

    # ------------------------------------------------------------------ steps
    def _not_for_a_device(
        self, vocab: Vocabulary, rule: Rule | None, intent: str, slots: dict[str, Any], plain: str,
        m: Mentions, index: HomeIndex,
    ) -> str | None:
        """Why a device intent the rules (or the learned layer) read is no request for a device of
        this home, or None. Each reason is a general rule over the data, never a sentence."""
        if content.is_media_command(vocab, intent, slots, plain) or content.starts_content(vocab, intent, m):
            stray = content.content_words(vocab, intent, plain, m, index)
            if stray:
                # "play my jazz playlist", "skip to the next episode": content voicebot cannot
                # choose, not a command for the player (content.py)
                return f"no device request: media content ({' '.join(stray)})"
        if intent == "HassClimateSetTemperature" and not m.any_target and vocab.any_match(vocab.weather, plain):
            # "will it be too cold for a dress on sunday": the weather, not the room
            return "no device request: weather talk"
        if rule is not None and rule.object_home and not m.any_target:
            stray = content.unexplained_object(vocab, rule, plain, m)
            if stray:
                # "open my playlist", "open a new email": the verb's object is nothing of the home
                return f"no device request: {' '.join(stray)} is nothing of this home"
        return None

    def _doors_as_locks(
        self, vocab: Vocabulary, intent: str, plain: str, m: Mentions, target: Target, resolver: Resolver,
        speaker_area: str | None, context: ConversationContext | None,
    ) -> tuple[str, Target, Mentions] | None:
        """"Mach im Flur die Türen auf" in a home whose doors there have smart locks, not motors:
        opening a door is unlocking it and closing it is locking it (Home Assistant's lock is on
        when locked), on the locks of the place said. None when a door cover was found."""
        if target.device_ids or target.candidates or not vocab.any_match(vocab.doors, plain):
            return None
        if any(k.domain == "cover" and k.device_class not in (None, "door") for k in m.kinds):
            return None  # a garage door or a gate is never a lock
        as_lock = "HassTurnOff" if intent == "HassTurnOn" else "HassTurnOn"
        # "die Tür" is one lock (which one, if the place has several), "die Türen" all of them
        found = replace(m, kinds=[DomainWord("lock", None)], plural=m.all or vocab.any_match(vocab.doors_plural, plain))
        # a place with neither: still the locks (Home Assistant's reading), none of which is acted on
        return as_lock, resolver.resolve(found, as_lock, "lock", speaker_area, context), found

    def _template(
        self, vocab: Vocabulary, text: str, index: HomeIndex, speaker_area: str | None = None,
    ) -> TemplateMatch | None:
        recognizer = self._templates.get(vocab.language)
        if recognizer is None:
            recognizer = self._templates[vocab.language] = TemplateRecognizer(vocab.language)
        match = recognizer.recognize(text[:MAX_CHARS], index, speaker_area)
        if match is not None and not _zone_known(vocab, match, index):
            return None
        return match

    def _from_template(
        self, match: TemplateMatch, m: Mentions, resolver: Resolver, speaker_area: str | None,
        context: ConversationContext | None,
    ) -> tuple[str, dict[str, Any], Target, Mentions]:
        """A template match in our terms: the template's names stand in for what we found."""
        index = resolver.index
        slots: dict[str, Any] = {**match.slots, **match.values}
        if match.intent not in DEVICE_INTENTS:
            return match.intent, slots, Target(), m
        found = Mentions(tokens=m.tokens, here=m.here, all=m.all, pronoun=m.pronoun, other=m.other, both=m.both,
                         ordinal=m.ordinal, covered=set(range(len(m.tokens))))
        if match.name:
            ids = [d.id for d in index.devices.values() if d.name == match.name]
            # names Home Assistant lets repeat ("Phone" battery, "Phone" charging): the
            # template's kind of device tells them apart
            fitting = [i for i in ids if (not match.domain or str(index.devices[i].type) == match.domain)
                       and (not match.device_class or index.devices[i].device_class == match.device_class)]
            ids = fitting or ids
            found.names.append(NameHit(match.name, ids, 0, 0))
        found.areas = [match.area] if match.area else []
        found.floors = [match.floor] if match.floor else []
        if match.domain:
            found.kinds = [DomainWord(match.domain, match.device_class)]
            found.plural = True
        allowed = caps.INTENT_DOMAINS.get(match.intent, frozenset())
        hint = match.domain or (next(iter(allowed)) if len(allowed) == 1 else None)
        target = resolver.resolve(found, match.intent, hint, speaker_area, context)
        if (match.domain and match.device_class and not target.device_ids and not target.candidates
                and not caps.is_sensitive(match.domain, match.device_class)):
            # the templates' class for a word is not every home's ("Rollos" are blinds to them,
            # shutters in a home that says so): the kind of device then decides alone, never
            # reaching a garage door, gate or door that was not said
            found.kinds = [DomainWord(match.domain, None)]
            loose = resolver.resolve(found, match.intent, hint, speaker_area, context)
            devs = index.devices
            if not any(caps.is_sensitive(str(devs[i].type), index.implied_class.get(i))
                       for i in loose.device_ids + loose.candidates):
                target = loose
        return match.intent, slots, target, found

    def _state_question(
        self, vocab: Vocabulary, plain: str, m: Mentions, index: HomeIndex,
    ) -> tuple[str, dict[str, Any], Target] | None:
        """A question about what binary sensors sense ("are any batteries low?", "is the phone
        charging?"), in Home Assistant's slots; only for kinds of sensor the home has. The
        classes are tried in the data's order; a named device of the class is the target."""
        if not vocab.sensed or not vocab.any_match(vocab.question, plain):
            return None
        sensors = [d for d in index.devices.values() if str(d.type) == "binary_sensor" and d.device_class]
        named_ids = [i for h in m.names for i in h.device_ids]
        if any(str(index.devices[i].type) == "person" for i in named_ids):
            return None  # "is Ada home?": the person's own state, not a presence sensor's
        sensors_by_id = {d.id for d in sensors if d.device_class in vocab.sensed}
        for cls, by_state in vocab.sensed.items():
            pool = [d.id for d in sensors if d.device_class == cls]
            if not pool:
                continue
            # "not charging" holds "charging": the opposite state's words are read first
            state = next((st for st in ("off", "on") if vocab.any_match(by_state.get(st, []), plain)), None)
            group = vocab.any_match(vocab.question_group, plain)
            named = [] if group else [i for i in named_ids if i in pool]
            if not group and not named and any(i in sensors_by_id for i in named_ids):
                continue  # a named sensor of another class: that class is the question
            said_class = (re.search(rf"\b{re.escape(cls.replace('_', ' '))}s?\b", plain) is not None
                          or vocab.any_match(vocab.sensed_said.get(cls, []), plain))
            if state is None or (cls in vocab.sensed_by_name and not named and not said_class):
                continue
            slots: dict[str, Any] = {"domain": "binary_sensor", "device_class": cls, "state": state}
            ids = named or pool
            if named:
                slots["name"] = index.devices[named[0]].name
            if m.areas:
                slots["area"] = m.areas[0]
                ids = [i for i in ids if index.devices[i].area in m.areas]
            return "HassGetState", slots, Target(device_ids=ids, how="group")
        return None

    def _classify(
        self, vocab: Vocabulary, plain: str, context: ConversationContext | None,
        m: Mentions | None = None, index: HomeIndex | None = None,
    ) -> Rule | None:
        named = ({str(index.devices[i].type) for h in m.names for i in h.device_ids}
                 if m is not None and index is not None else set())
        rules = [r for r in vocab.rules if not r.named or r.named & named]
        if context and context.pending and context.pending.kind == YES_NO:
            # "yeah, it's still off" answers the question before it reports anything
            # ... unless the answer word opens a problem report ("no sound from the speaker",
            # "nothing happens when I press it"): then it is the report
            opens_report = any(p.match(plain) for ps in vocab.symptoms.values() for p in ps)
            for rule in rules:
                if rule.intent in ("Yes", "No") and rule.match(plain) and not opens_report:
                    return rule
        for rule in rules:
            if not rule.weak and rule.match(plain):
                return rule
        for rule in rules:
            if rule.weak and rule.match(plain):
                return rule
        return None

    def _apply(
        self, vocab: Vocabulary, rule: Rule, plain: str, original: str, m: Mentions, resolver: Resolver,
        speaker_area: str | None, context: ConversationContext | None,
    ) -> tuple[str | None, dict[str, Any], Target]:
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
            domain = self._action_domain(rule, m, resolver, context)
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
                slots["feedback"] = original.strip()

        if intent == "HassClimateSetTemperature" and "temperature" not in slots and "temperature_step" not in slots:
            slots["temperature_step"] = values.step(plain, "temperature", sign, vocab)

        target = Target()
        if rule.target and intent:
            hint = slots.get("domain")
            if intent == "HassGetState" and not hint and slots.get("state") in ("locked", "unlocked"):
                hint = "lock"  # "are the doors locked?"
            if intent == "HassGetState" and slots.get("state") in ("home", "not_home") and not m.names:
                # "is anyone home?", "is everyone at home?": every person of the home is asked about
                hint, m = "person", replace(m, all=True)
            if intent == "HassClimateGetTemperature" and not m.kinds:
                hint = None  # a thermostat or a temperature sensor will do
            target = resolver.resolve(m, intent, hint, speaker_area, context, allowed)
            if intent == "HassClimateGetTemperature" and not target.device_ids and not target.candidates:
                target = resolver.resolve(m, intent, "climate", speaker_area, context, allowed)
        return intent, slots, target

    def _action_domain(
        self, rule: Rule, m: Mentions, resolver: Resolver, context: ConversationContext | None,
    ) -> str | None:
        """The kind of device a domain-dependent verb ("open", "turn it up") is about."""
        if m.kinds:
            return m.kinds[0].domain
        named: set[str] = set()
        if m.names or m.fuzzy:
            ids = [i for h in m.names for i in h.device_ids]
            named = {str(resolver.index.devices[i].type) for i in ids}
        # "set the tv to 50 %": the device named says what the verb does, when the verb can do it
        if len(named) == 1 and next(iter(named)) in resolver.index.vocab.actions.get(rule.action or "", {}):
            return named.pop()
        if rule.slots.get("domain"):
            return str(rule.slots["domain"])
        if len(named) == 1:
            return named.pop()
        if context and context.last_device_ids and (m.pronoun or not m.any_target):
            devs = resolver.index.devices
            domains = {str(devs[i].type) for i in context.last_device_ids if i in devs}
            if len(domains) == 1:
                return domains.pop()
        if context and context.last_domain:
            return context.last_domain
        return None

    def _follow_up(
        self, vocab: Vocabulary, plain: str, m: Mentions, resolver: Resolver, speaker_area: str | None,
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
        follow_cue = vocab.any_match(vocab.follow_up, plain)
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
            hint = slots.get("domain")
            if not hint and not m.kinds:
                # Home Assistant's slots name a device without its domain: the kind of device
                # the previous turn acted on is the kind meant ("and the bedroom too")
                devs = resolver.index.devices
                kinds = {str(devs[i].type) for i in context.last_device_ids if i in devs}
                hint = kinds.pop() if len(kinds) == 1 else context.last_domain
            target = resolver.resolve(m, intent, hint, speaker_area, ctx, allowed)
            if target.device_ids or target.candidates:
                return intent, slots, target, FOLLOW_UP if follow_cue else BARE_FOLLOW_UP
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




def _zone_known(vocab: Vocabulary, match: TemplateMatch, index: HomeIndex) -> bool:
    """Whether a template's question about people names a place they can be: HA's templates
    take any words as the zone ("who is {zone}"), so "who is the governor of new york" would ask
    who is in a zone of that name. Known: the home zone in this language's words (``home_zone``)
    and the home's rooms. Languages without ``home_zone`` data are not checked."""
    state = str(match.slots.get("state") or "").lower()
    if match.intent != "HassGetState" or match.domain != "person" or not state or not vocab.ha_home_words:
        return True
    if any(state == w or state.startswith(w + " ") for w in vocab.ha_home_words):
        return True
    rooms = {a.name.lower() for a in index.areas.values()} | {x.lower() for a in index.areas.values() for x in a.aliases}
    return state in rooms


def _kind_over_area(match: TemplateMatch, m: Mentions, speaker_area: str | None) -> TemplateMatch:
    """"Open the garage door" in a home with a room called Garage: the templates read the room
    and a door, but the words are one kind of device (a garage door) and no room was said. When
    the template's room is none the rules found (nor the speaker's) and the rules found a kind of
    its domain with a class, the kind wins."""
    if not match.area or match.area in m.areas or match.area == speaker_area:
        return match
    kind = next((k for k in m.kinds if k.domain == match.domain and k.device_class), None)
    if kind is None:
        return match
    slots = {k: v for k, v in match.slots.items() if k != "area"}
    slots["device_class"] = kind.device_class
    return replace(match, area=None, device_class=kind.device_class, slots=slots)


def _mostly_nonsense(m: Mentions, slots: dict[str, Any]) -> bool:
    """Half or more of the words (at least two) are explained by nothing: no rule word, no
    device, room or kind, and no misheard name. Media and vacuum requests carry content
    ("play some jazz by miles davis") and are exempt."""
    if slots.get("domain") in caps.CONTENT_DOMAINS:
        return False
    named = {i for h in m.names + m.fuzzy for i in range(h.start, h.end)}
    stray = [
        t for i, t in enumerate(m.tokens)
        if i not in named and i not in m.covered and t in m.unknown
    ]
    return len(stray) >= 2 and 2 * len(stray) >= len(m.tokens)
