"""Customers correcting the bot: "no, I meant the floor lamp", "not that one, the other one",
"put it back", and names they teach ("the big light is the ceiling light"), which are remembered
for their home and used from then on.

The phrasings are data (corrections.yaml, per language). What is learnt lives in the store's
database (table ``learned_names``), keyed by the home: the customer's id. A customer lists and
deletes it with ``voicebot learned``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Column, Float, Table, Text, delete, select

from device_bridge.devices import Device
from voicebot.database import METADATA
from voicebot.sqlite_db import StoreDatabase, upsert

CORRECTIONS_FILE = Path(__file__).with_name("corrections.yaml")
KINDS = ("meant", "other", "undo", "teach")
# Words that are never taught as a name: "it is off" is not a lesson.
_NOT_NAMES = frozenset({"it", "this", "that", "there", "here", "everything", "nothing", "all", "es", "das", "esto", "eso"})
# A question ("where is Joseph", "what is the temperature") is never a name being taught: a phrase
# that starts with a question word is not a name.
_QUESTION_WORDS = frozenset({"where", "what", "who", "which", "how", "when", "why", "whose",
                             "wo", "was", "wer", "welche", "welcher", "welches", "wie", "wann", "warum",
                             "dónde", "donde", "qué", "que", "quién", "quien", "cuál", "cual", "cómo", "como",
                             "cuándo", "cuando", "por"})

LEARNED_NAMES = Table(
    "learned_names", METADATA,
    Column("home", Text, primary_key=True),
    Column("phrase", Text, primary_key=True),
    Column("device_id", Text, nullable=False),
    Column("language", Text, nullable=False, server_default="en"),
    Column("learned_at", Float, nullable=False),
    Column("source", Text, nullable=False, server_default=""),
)


@dataclass(frozen=True)
class Correction:
    kind: str  # meant | other | undo | teach
    target: str = ""  # meant: the device they meant; teach: the device named
    phrase: str = ""  # teach: their own name for it
    device_kind: str = ""  # other: "lamp" in "the other lamp"


@cache
def _patterns() -> dict[str, dict[str, list[re.Pattern[str]]]]:
    data = yaml.safe_load(CORRECTIONS_FILE.read_text(encoding="utf-8"))
    out: dict[str, dict[str, list[re.Pattern[str]]]] = {}
    for lang, kinds in data.items():
        out[lang] = {}
        for kind, patterns in kinds.items():
            if kind not in KINDS:
                raise ValueError(f"{CORRECTIONS_FILE}: {lang}.{kind}: not one of {', '.join(KINDS)}")
            out[lang][kind] = [re.compile(p, re.IGNORECASE) for p in patterns]
    return out


def _clean(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").strip().split())


def parse_correction(text: str, language: str = "en") -> Correction | None:
    """The correction a turn makes, or None. Tries the turn's language, then English."""
    t = _clean(text)
    langs = [language] + (["en"] if language != "en" else [])
    for lang in langs:
        kinds = _patterns().get(lang, {})
        for kind in KINDS:
            for pattern in kinds.get(kind, []):
                m = pattern.match(t)
                if m is None:
                    continue
                g = {k: (v or "").strip() for k, v in m.groupdict().items()}
                if kind == "teach" and (g.get("phrase") in _NOT_NAMES or g.get("phrase") == g.get("device")
                                         or g.get("phrase", "").split(" ")[0] in _QUESTION_WORDS):
                    continue
                return Correction(kind, g.get("target") or g.get("device", ""), g.get("phrase", ""), g.get("kind", ""))
    return None


def name_matches(device: Device, words: str) -> bool:
    """ "floor lamp", "the living room ceiling light", "ceiling light in the bedroom": the name or an
    alias, optionally with the device's room before or after it."""
    w = _clean(re.sub(r"^(the|die|der|das|den|la|el|los|las)\s+", "", _clean(words)))
    names = [device.name.lower(), *(a.lower() for a in device.aliases)]
    area = (device.area or "").lower()
    for n in names:
        if w == n or (area and w in (f"{area} {n}", f"{n} in the {area}", f"{n} in {area}", f"the {area} {n}")):
            return True
    return False


def kind_matches(device: Device, kind: str) -> bool:
    """ "lamp" in "the other lamp": a word of the device's name, aliases or type."""
    if not kind:
        return True
    words = set(" ".join([device.name, *device.aliases, device.type.value]).lower().split())
    k = kind.lower().rstrip("s")
    return k in words or f"{k}s" in words or (k in ("light", "lamp") and device.type.value == "light")


@dataclass(frozen=True)
class Learned:
    home: str
    phrase: str
    device_id: str
    language: str
    learned_at: float
    source: str


class LearnedNames:
    """Names customers taught, per home, in the store's database."""

    def __init__(self, db: StoreDatabase) -> None:
        self.db = db  # the store's database; its migrations made the table

    def learn(self, home: str, phrase: str, device_id: str, language: str = "en", source: str = "") -> None:
        phrase = _clean(re.sub(r"^(the|die|der|das|den|la|el)\s+", "", _clean(phrase)))
        values = {"home": home, "phrase": phrase, "device_id": device_id, "language": language,
                  "learned_at": time.time(), "source": source}
        with self.db._tx() as conn:
            conn.execute(upsert(conn, LEARNED_NAMES, values, ["home", "phrase"]))

    def forget(self, home: str, phrase: str | None = None) -> int:
        """Delete one learnt name (or, with no phrase, all of the home's); returns how many went."""
        query = delete(LEARNED_NAMES).where(LEARNED_NAMES.c.home == home)
        if phrase is not None:
            query = query.where(LEARNED_NAMES.c.phrase == _clean(phrase))
        with self.db._tx() as conn:
            return int(conn.execute(query).rowcount)

    def names(self, home: str | None = None) -> list[Learned]:
        query = select(LEARNED_NAMES).order_by(LEARNED_NAMES.c.home, LEARNED_NAMES.c.phrase)
        if home is not None:
            query = query.where(LEARNED_NAMES.c.home == home)
        rows = self.db._read(query)
        return [Learned(r["home"], r["phrase"], r["device_id"], r["language"], r["learned_at"], r["source"]) for r in rows]

    def rewrite(self, home: str, text: str, devices: list[Device]) -> str:
        """``text`` with the home's learnt names replaced by the device's own name (with its room
        when the name alone is not unique), so understanding sees a name it knows."""
        learned = self.names(home)
        if not learned:
            return text
        by_id = {d.id: d for d in devices}
        out = text
        for item in sorted(learned, key=lambda x: -len(x.phrase)):
            device = by_id.get(item.device_id)
            if device is None:
                continue  # the device has gone from the home: the name means nothing now
            out = re.sub(rf"\b{re.escape(item.phrase)}\b", spoken_name(device, devices), out, flags=re.IGNORECASE)
        return out


def spoken_name(device: Device, devices: list[Device]) -> str:
    same = [d for d in devices if d.name.lower() == device.name.lower()]
    if len(same) > 1 and device.area:
        return f"{device.area} {device.name}".lower()
    return device.name.lower()


def resolve_named(words: str, devices: list[Device], prefer: list[str] | None = None) -> list[Device]:
    """Devices the customer's words name exactly (name or alias, with or without the room)."""
    hits = [d for d in devices if name_matches(d, words)]
    if len(hits) > 1 and prefer:
        preferred = [d for d in hits if d.id in prefer or d.area in prefer]
        hits = preferred or hits
    return hits


_PHRASE = re.compile(
    r"\b(?:the|my|our)\s+([a-z][a-z' ]{1,40}?)(?:\s+(?:on|off|up|down|please|again|for me|in the [a-z ]+))*[.!?]*$"
)


def spoken_phrase(text: str) -> str:
    """The customer's own name for the device in an English request: "turn on the reading light"
    gives "reading light" (when understanding kept no name slot)."""
    m = _PHRASE.search(_clean(text))
    return m.group(1).strip() if m else ""


def undo_changes(device: Device, before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The changes that put a device back as it was before ``changes``."""
    out: dict[str, Any] = {}
    for key in changes:
        if key == "position":
            if before.get("current_position") is not None:
                out["position"] = before["current_position"]
        elif key in before:
            out[key] = before[key]
    if "brightness" in out and str(before.get("state", "")).lower() == "off":
        out.pop("brightness")
    return out
