"""Which devices an utterance is about: from what it names (see mentions.py), the intent's
kind of device, the speaker's area and the conversation so far.

The answer is either devices (act on them), candidates (ask which one), or neither. A weak
match never yields devices: misheard names below the fuzzy threshold only become candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from device_bridge.devices import Device
from voicebot.understand import capabilities as caps
from voicebot.understand.context import WHICH_DEVICE, ConversationContext
from voicebot.understand.mentions import HomeIndex, Mentions
from voicebot.understand.vocabulary import DomainWord


@dataclass
class Target:
    device_ids: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    name: str | None = None  # the device's canonical name when one was named
    how: str = "none"  # name | fuzzy | group | context | pending | speaker_area | single | none
    score: float = 1.0  # 1 exact; lower for fuzzy


# Words around an answer to "which one?" that name nothing by themselves.
_ANSWER_FILLER = frozenset(["the", "a", "one", "ones", "that", "this", "please", "in", "on", "of", "my", "it", "i", "mean", "meant", "want", "with", "by", "over", "there"])


def _domain(device: Device) -> str:
    return str(device.type)


class Resolver:
    def __init__(self, index: HomeIndex) -> None:
        self.index = index
        self._keep_safe = False

    def _matches_kind(self, device: Device, domains: set[str], device_class: str | None) -> bool:
        return _domain(device) in domains and (
            device_class is None or self.index.implied_class.get(device.id, device.device_class) == device_class)

    def _filter(self, ids: list[str], domains: set[str] | None, device_class: str | None = None) -> list[str]:
        if domains is None:
            return list(ids)
        devs = self.index.devices
        exact = [i for i in ids if self._matches_kind(devs[i], domains, device_class)]
        if exact or device_class is None:
            return exact
        # devices without a device class still answer to the kind word ("blinds" → any cover)
        return [i for i in ids if _domain(devs[i]) in domains and self.index.implied_class.get(i) is None]

    def _areas(self, m: Mentions, speaker_area: str | None) -> set[str] | None:
        """The areas the utterance restricts to, or None when it names none."""
        areas = set(m.areas)
        for floor in m.floors:
            areas |= {a.name for a in self.index.areas.values() if a.floor == floor}
        if m.here and speaker_area:
            areas.add(speaker_area)
        return areas or None

    def resolve(
        self,
        m: Mentions,
        intent: str | None,
        domain_hint: str | None,
        speaker_area: str | None,
        context: ConversationContext | None,
        allowed_domains: frozenset[str] | None = None,
    ) -> Target:
        if m.conflict:
            return Target()  # "the garage door lock": no device is both; acting on either is a guess
        self._kind_aliases_in_other_rooms(m, speaker_area)
        allowed = set(allowed_domains or caps.INTENT_DOMAINS.get(intent or "", caps.ALL))
        # a bare "turn it off" never reaches a lock, garage door or gate: those must be named
        self._keep_safe = intent in ("HassTurnOn", "HassTurnOff", "HassToggle") and not domain_hint
        kind_domains = {k.domain for k in m.kinds}
        device_class = next((k.device_class for k in m.kinds if k.device_class), None)
        if kind_domains:
            domains: set[str] | None = (kind_domains & allowed) or kind_domains
        elif domain_hint:
            domains = {domain_hint}
        else:
            domains = None
        areas = self._areas(m, speaker_area)
        pending = context.pending if context and context.pending and context.pending.kind == WHICH_DEVICE else None
        if pending and intent not in (None, pending.intent):
            pending = None  # a new request of its own, not an answer to "which one?"

        # 1. an answer to "which one?": narrow the offered candidates
        if pending and pending.candidates:
            chosen = self._choose_among(pending.candidates, m, areas, domains, device_class)
            if chosen is not None:
                return chosen

        # A room or name that matches nothing here ("the garage light" in a home without a
        # garage) never falls back to the only device of the kind, the speaker's room or the
        # previous turn's device: at most a misheard name is asked about.
        if m.unmatched and not m.names:
            near = self._filter(m.fuzzy[0].device_ids, domains or allowed) if m.fuzzy else []
            return Target(candidates=near, how="fuzzy") if near else Target()

        # 2. devices named exactly, or a misheard name above the threshold
        if m.names:
            said = [(k, "") for k in m.kinds]
            if said and any(not any(self.index.kind_fits(i, said) for i in h.device_ids) for h in m.names):
                # "turn on the lamp by the tv": a lamp is said, the TV is named; neither is a guess
                return Target()
            if intent in ("HassTurnOff", "HassToggle") and all(
                all(_domain(self.index.devices[i]) in caps.RUN_ONLY for i in h.device_ids) for h in m.names
            ) and not domain_hint:
                # "turn off movie night": the scene it names, for the dialogue to say a scene
                # is run, not switched off (never a question about which device)
                return self._named(m, areas, speaker_area, set(caps.RUN_ONLY))
            if intent in caps.CHANGING and not self._named_fit(m, allowed, domain_hint):
                # "dim the tv", "unlock the garage", "close the thermostat": the request cannot
                # be done to the device named; doing something else to it would be a guess
                return Target()
            return self._named(m, areas, speaker_area, allowed)

        # 3. "the other one": the candidates not chosen last time
        if m.other and context and not m.areas:
            rest = [c for c in context.last_candidates if c not in context.last_device_ids]
            if not rest and context.last_device_ids:
                rest = self._siblings(context.last_device_ids)
            rest = self._safe(self._filter(rest, allowed))
            if len(rest) == 1 or (rest and m.both):
                return Target(device_ids=rest, how="context")
            if rest:
                return Target(candidates=rest, how="context")

        # 4. a group: a kind of device and/or a room ("kitchen lights", "the hallway thing")
        if kind_domains or areas or m.generic:
            group = self._group(m, intent, domains, device_class, areas, allowed, speaker_area)
            if not group.device_ids and m.fuzzy:
                # "the hole light": ask about the name it sounds like, not about every light
                near = self._filter(m.fuzzy[0].device_ids, domains or allowed)
                if near:
                    return Target(candidates=near, how="fuzzy", score=m.fuzzy[0].score / 100)
            return group

        # Something was named that is no device here ("turn on the glitter ball"): never
        # substitute the previous turn's device or the room's for it.
        if m.unknown and not m.pronoun and not allowed <= caps.CONTENT_DOMAINS:
            near = self._filter(m.fuzzy[0].device_ids, domains or allowed) if m.fuzzy else []
            return Target(candidates=near, how="fuzzy") if near else Target()

        # 5. nothing named: the devices of the previous turn ("turn it off", "make it warmer")
        if context and context.last_device_ids:
            last = self._safe(self._filter(context.last_device_ids, allowed & (domains or allowed)))
            if last:
                return Target(device_ids=last, how="context")
            if context.last_area and domains:
                pool = self._pool(domains, None, {context.last_area})
                if pool:
                    return Target(device_ids=pool, how="context")

        # 6. the intent says the kind: in the speaker's room, or the only one in the home
        if domains:
            if speaker_area:
                pool = self._pool(domains, None, {speaker_area})
                if pool:
                    return Target(device_ids=pool, how="speaker_area")
            pool = self._pool(domains, None, None)
            if len(pool) == 1:
                return Target(device_ids=pool, how="single")
            if pool and (m.all or intent == "HassGetState"):
                return Target(device_ids=pool, how="group")  # a question reads; it changes nothing
            if pool:
                return Target(candidates=pool, how="none")
        return Target()

    # ------------------------------------------------------------------ helpers
    def _kind_aliases_in_other_rooms(self, m: Mentions, speaker_area: str | None) -> None:
        """An alias that is also a kind word ("fan" for the bedroom fan) means the kind when the
        sentence names a room the device is not in ("the fan in the bathroom")."""
        areas = self._areas(m, speaker_area) if (m.areas or m.floors or m.here) else None
        if not areas:
            return
        words = self.index.vocab.domain_words
        for hit in list(m.names):
            outside = all(self.index.devices[i].area not in areas for i in hit.device_ids)
            if outside and hit.phrase in words:
                m.names.remove(hit)
                m.kinds.append(words[hit.phrase])

    def _named_fit(self, m: Mentions, allowed: set[str], domain_hint: str | None) -> bool:
        """Every device name said has a device the intent can act on (of the rule's kind,
        when the rule says one)."""
        devs = self.index.devices
        hint = [(DomainWord(domain_hint), "")] if domain_hint else []
        return all(
            any(_domain(devs[i]) in allowed and self.index.kind_fits(i, hint) for i in hit.device_ids)
            for hit in m.names
        )

    def _by_kind_word(self, m: Mentions, pool: list[str]) -> list[str]:
        """A singular kind word narrows a group to the devices whose names hold it: "the living
        room lamp" is the Floor Lamp, not the ceiling light beside it ("light" itself does not). When none or all hold the
        word, or it is said in the plural ("the lamps", "all lights"), the group stays whole."""
        if m.plural or m.all or m.both or len(pool) < 2:
            return pool
        # the first word of a kind ("light", "thermostat") is the kind itself: it narrows nothing
        first: dict[object, str] = {}
        for word, kind in self.index.vocab.domain_words.items():
            first.setdefault(kind, word)
        said = [m.tokens[s:e] for k, v, s, e in m.spans if k == "kind" and first.get(v) != " ".join(m.tokens[s:e])]
        if not said:
            return pool
        phrases = self.index.device_phrases
        narrowed = [
            i for i in pool
            if any(set(words) <= {w for p in phrases.get(i, []) for w in p.split()} for words in said)
        ]
        return narrowed if 0 < len(narrowed) < len(pool) else pool

    def _safe(self, ids: list[str]) -> list[str]:
        if not self._keep_safe:
            return ids
        devs = self.index.devices
        return [i for i in ids if not caps.is_sensitive(_domain(devs[i]), devs[i].device_class)]

    def _pool(self, domains: set[str], device_class: str | None, areas: set[str] | None) -> list[str]:
        ids = [d.id for d in self.index.devices.values() if areas is None or d.area in areas]
        return self._filter(ids, domains, device_class)

    def _siblings(self, ids: list[str]) -> list[str]:
        """Devices of the same kind and name (another room) or the same kind and room."""
        devs = self.index.devices
        out: list[str] = []
        for i in ids:
            d = devs[i]
            same_name = [o.id for o in devs.values() if o.id not in ids and o.name == d.name]
            same_room = [o.id for o in devs.values() if o.id not in ids and o.type == d.type and o.area == d.area]
            out += same_name or same_room
        return list(dict.fromkeys(out))

    def _choose_among(
        self, candidates: list[str], m: Mentions, areas: set[str] | None, domains: set[str] | None,
        device_class: str | None,
    ) -> Target | None:
        devs = self.index.devices
        candidates = [c for c in candidates if c in devs]
        if m.ordinal is not None and -len(candidates) <= m.ordinal < len(candidates):
            return Target(device_ids=[candidates[m.ordinal]], how="pending")
        if m.both or m.all:
            return Target(device_ids=list(candidates), how="pending")
        chosen = list(candidates)
        narrowed = False
        if m.names:
            named = {i for h in m.names for i in h.device_ids}
            if named & set(chosen):
                chosen = [c for c in chosen if c in named]
                narrowed = True
        # "the ceiling one", "the big one": a word of a candidate's own name or alias
        phrases = self.index.device_phrases
        own = {c: {w for p in phrases.get(c, []) for w in p.split()} for c in chosen}
        # (rooms and kinds said narrow below, as rooms and kinds: "the kitchen ones" are all of them)
        content = {t for i, t in enumerate(m.tokens) if t not in _ANSWER_FILLER and i not in m.covered}
        words = content & set().union(*own.values()) if own else set()
        if words and not narrowed and all(t in words or t in self.index.known_words for t in content):
            by_word = [c for c in chosen if words <= own[c]]
            if by_word and len(by_word) < len(chosen):
                chosen, narrowed = by_word, True
        if areas:
            in_area = [c for c in chosen if devs[c].area in areas]
            if in_area:
                chosen, narrowed = in_area, True
        if domains:
            of_kind = self._filter(chosen, domains, device_class)
            if of_kind:
                chosen, narrowed = of_kind, narrowed or len(of_kind) < len(chosen)
        if not narrowed:
            return None
        if len(chosen) == 1:
            return Target(device_ids=chosen, name=devs[chosen[0]].name, how="pending")
        if m.plural:  # "the kitchen ones"
            return Target(device_ids=chosen, how="pending")
        return Target(candidates=chosen, how="pending")

    def _named(self, m: Mentions, areas: set[str] | None, speaker_area: str | None, allowed: set[str]) -> Target:
        devs = self.index.devices
        device_ids: list[str] = []
        candidates: list[str] = []
        score = min(h.score for h in m.names)
        for hit in m.names:
            ids = list(hit.device_ids)
            if len(ids) > 1 and (hit.plural or m.both or m.all) and not areas:
                device_ids += ids  # "both ceiling lights", "the ceiling lights"
                continue
            if len(ids) > 1 and areas:
                ids = [i for i in ids if devs[i].area in areas] or ids
            if len(ids) > 1 and speaker_area:
                ids = [i for i in ids if devs[i].area == speaker_area] or ids
            if len(ids) > 1:
                fitting = [i for i in ids if _domain(devs[i]) in allowed] or ids
                if len(fitting) == 1:
                    ids = fitting
            if len(ids) == 1:
                device_ids += ids
            else:
                candidates += ids
        if candidates:
            # one ambiguous name makes the whole request a question
            return Target(candidates=list(dict.fromkeys(candidates + device_ids)), how="name", score=score)
        name = devs[device_ids[0]].name if len(device_ids) == 1 else None
        how = "fuzzy" if score < 100 else "name"
        return Target(device_ids=list(dict.fromkeys(device_ids)), name=name, how=how, score=score / 100)

    def _group(
        self, m: Mentions, intent: str | None, domains: set[str] | None, device_class: str | None,
        areas: set[str] | None, allowed: set[str], speaker_area: str | None = None,
    ) -> Target:
        devs = self.index.devices
        explicit_kind = bool(m.kinds) or domains is not None
        if domains == {"vacuum"}:
            areas = None  # "vacuum the bedroom": the room is where to clean, not where the robot lives
        # "turn on the lamp": the ones in the speaker's room, when there are any
        if (
            areas is None and speaker_area and not m.all and domains is not None
            and self._pool(domains, device_class, {speaker_area})
        ):
            areas = {speaker_area}
        if domains is None:
            # only a room: the kinds of device the intent usually means there
            order = caps.IMPLICIT_PREFERENCE.get(intent or "", ())
            pool: list[str] = []
            for domain in order:
                pool = [
                    d.id for d in devs.values()
                    if (areas is None or d.area in areas) and _domain(d) == domain
                    and not caps.is_sensitive(domain, d.device_class)
                ]
                if pool:
                    break
            if intent == "ReportProblem" and areas is not None:
                pool = [d.id for d in devs.values() if d.area in areas and _domain(d) in allowed]
            elif pool and m.unknown and not m.pronoun:
                # "turn on the bathroom lamb": a word nobody explains stands where the device
                # should be; the room's fan would be a guess, so it is only asked about
                return Target(candidates=pool, how="group")
        else:
            pool = self._pool(domains, device_class, areas)
            pool = self._by_kind_word(m, pool)
        if not pool:
            return Target()
        if areas is not None:
            if intent == "ReportProblem" and len(pool) > 1 and not explicit_kind:
                return Target(candidates=pool, how="group")
            # "kitchen lights", "turn off the bedroom": everything of that kind in the room,
            # as Home Assistant does; a single sensitive device must be named to be opened
            if not explicit_kind and any(caps.is_sensitive(_domain(devs[i]), devs[i].device_class) for i in pool):
                return Target(candidates=pool, how="group")
            # "turn on the lamp" in a room with two: a singular kind word names one device, so
            # which one is asked; "the lamps", "all the lights", "turn off the bedroom" mean them all.
            # So for a fault in a room said: "la luz de la cocina no se enciende" with two kitchen
            # lights is one of them (troubleshooting the other would be the wrong light); in the
            # speaker's room the dialogue asks openly, as the room is only a guess
            if (
                m.kinds and len(pool) > 1
                and (intent in caps.CHANGING or (intent == "ReportProblem" and bool(m.areas or m.floors)))
                and not (m.plural or m.all or m.both)
            ):
                return Target(candidates=pool, how="group")
            return Target(device_ids=pool, how="group")
        if len(pool) == 1:
            return Target(device_ids=pool, how="single")
        if m.all or (intent == "HassGetState" and m.plural):
            return Target(device_ids=pool, how="group")
        return Target(candidates=pool, how="group")
