"""Remove personal data from text before it is stored: names, phone numbers,
e-mail addresses, street addresses, payment card numbers and IBANs.

Each kind is replaced by a bracketed tag (``[NAME]``, ``[PHONE]``, ``[EMAIL]``,
``[ADDRESS]``, ``[CARD]``, ``[IBAN]``) so that a reader still sees what was
said, and the redaction is idempotent (tags are never redacted again).

The text comes from speech recognition, so spoken forms are handled too
("john dot smith at gmail dot com"). Numbers are checked, not just shaped:
cards by the Luhn checksum, IBANs by their mod-97 check (python-stdnum), phone
numbers by libphonenumber (``phonenumbers``) or a separated-digit-group shape.
Names are found from context ("my name is …", "Mr …") and from the US census
first-name list (package ``names``), capitalised and not a common word.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn

NAME, PHONE, EMAIL, ADDRESS, CARD, IBAN = "[NAME]", "[PHONE]", "[EMAIL]", "[ADDRESS]", "[CARD]", "[IBAN]"

# Regions whose national number formats are tried; international (+…) numbers match in any.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "AU", "IE")

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# Spoken: "john dot smith at example dot com" (a top-level domain must end it).
_SPOKEN_EMAIL = re.compile(
    r"\b[a-z0-9_]+(?:\s+(?:dot|underscore|dash)\s+[a-z0-9_]+)*\s+at\s+[a-z0-9-]+"
    r"(?:\s+dot\s+[a-z0-9-]+)*\s+dot\s+(?:com|net|org|de|uk|co|io|fr|es|it|nl|info|edu|gov)\b",
    re.IGNORECASE,
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
# Digit groups separated by space, dot or dash, optionally +country and (area).
_PHONE_SHAPE = re.compile(
    r"(?<![\w.+-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,5}){1,5}(?![\w-]|\.\d)"
)
_DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
_VERSION_LIKE = re.compile(r"^\d+(?:\.\d+)+$")

_STREET_TYPES = (
    r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|terrace|"
    r"close|crescent|highway|hwy|parkway|pkwy|square|sq|row|gardens|grove|mews|circle|cir|trail"
)
_UNIT = r"(?:,?\s+(?i:apt|apartment|unit|suite|flat|floor)\.?\s*#?\s*\w+)?"
_CITY_ZIP = r"(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?(?:,?\s*[A-Z]{2})?(?:\s+\d{5}(?:-\d{4})?)?)?"
# "42 Main Street", "7b Old Mill Rd., Apt 3, Springfield, IL 62704": the street's name is capitalised,
# so "3 times in a row" is not an address.
_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][\w'-]*\.?\s+){{1,3}}(?i:{_STREET_TYPES})\b\.?{_UNIT}{_CITY_ZIP}"
)
# Lower-case transcripts: only the street types that are not also everyday words.
_ADDRESS_LOWER = re.compile(r"\b\d{1,5}\s+(?:[a-z]+\s+){1,2}(?:street|avenue|boulevard)\b")
# German, Dutch and similar: "Hauptstraße 5", "Lindenweg 12a".
_ADDRESS_SUFFIXED = re.compile(
    r"\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|laan|straat)"
    r"\s+\d{1,4}[a-z]?\b(?:,\s*\d{5}\s+[A-ZÄÖÜ][\wäöüß-]+)?"
)
_POSTCODE_UK = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b")

_CAP = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
# After "my name is" (and its German, French, Spanish, Dutch forms) any word is a name.
_NAME_CUE = re.compile(
    r"\b(?i:my name is|my name's|name's|name is|mein name ist|ich heiße|ich heisse|je m'appelle|"
    r"mon nom est|me llamo|mi nombre es|mijn naam is|ik heet)\s+"
    r"(?P<first>[A-Za-zÀ-ÿ][a-zà-ÿ'-]+)(?:\s+(?P<last>[A-Za-zÀ-ÿ][a-zà-ÿ'-]+))?"
)
# Numbers read out digit by digit ("five five five, eight six seven …", "0 7 7 0 0 …"): seven or more.
_DIGIT_WORD = r"(?:\d|zero|oh|one|two|three|four|five|six|seven|eight|nine|double\s+\w+|triple\s+\w+)"
_SPOKEN_NUMBER = re.compile(rf"\b{_DIGIT_WORD}(?:[\s,.-]+{_DIGIT_WORD}){{6,}}\b", re.IGNORECASE)
_TITLED = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Madam)\.?\s+{_CAP}(?:\s+{_CAP})?")

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Common words and product names that are also in the census first-name list.
_NOT_NAMES = _words(
    """
    april may june august will bill mark hope joy grace rose dawn echo summer china love hue alexa
    art guy pat sue bob bud chance chase christian cliff dale dean don drew earl faith frank gay glen
    grant hunter iris ivy jack jean jewel king lane lee major mason max miles page penny pearl price
    ray reed rich rob rock rusty sandy star sterling storm tad taylor ted tom trinity van victor
    violet wade ward west wood young ruby amber autumn crystal destiny diamond ebony ginger harmony
    heather holly honey jade jasmine jenny lily melody mercy misty olive patience precious rain raven
    sunny unique velvet winter cherry charity blanche bonnie candy carol colleen constance daisy
    delight dusty fern gale gem goldie jolly lacy laurel liberty lucky magnolia marina marvel
    memory merry mindy mint noble october pepper poppy queen sage scarlet serenity shade sharon
    sierra sky sugar tiara valentine verity willow home google nest apple echo siri sonos ring
    hive tado netatmo philips hue ikea bosch miele samsung lg sony amazon
    """
)
# Words that cannot be a name after "my name is".
_CUE_FALSE = _words(
    """
    the a an it this that not so very really just also still now here there always never again
    nicht nur ganz sehr pas très muy no es
    sorry happy unhappy glad disappointed angry frustrated confused calling writing trying going
    done fine good great bad okay ok thanks thank hello hi yes no one my your our their his her
    """
)


class _Words:
    """A fixed set of lower-case words held as one string per initial: a long-lived service keeps
    the census lists for its life, and 20 000 surnames as a set of strings were ~4.7 MB resident
    (the objects, the set's table and the file read to make them), as strings ~0.2 MB. A lookup
    scans the words with the same initial (a few microseconds)."""

    def __init__(self, words: Iterable[str]) -> None:
        by_initial: dict[str, list[str]] = {}
        for word in sorted(set(words)):
            by_initial.setdefault(word[:1], []).append(word)
        self._text = {initial: "\n" + "\n".join(group) + "\n" for initial, group in by_initial.items()}

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str) or "\n" in word:
            return False
        return f"\n{word}\n" in self._text.get(word[:1], "")

    def __len__(self) -> int:
        return sum(text.count("\n") - 1 for text in self._text.values())


@cache
def _first_names() -> _Words:
    """Census first names common enough to matter (≥0.004 % of people), minus common words."""
    import names  # the package ships the 1990 US census name lists as data files

    folder = Path(names.__file__).parent
    out: set[str] = set()
    for fname in ("dist.male.first", "dist.female.first"):
        for line in (folder / fname).read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and float(parts[1]) >= 0.004:
                out.add(parts[0].lower())
    return _Words(out - _NOT_NAMES - _sentiment_words())


@cache
def _last_names() -> _Words:
    """The most common census surnames (top 20 000), used only right after a first name."""
    import names

    with (Path(names.__file__).parent / "dist.all.last").open() as lines:
        return _Words(line.split()[0].lower() for line in itertools.islice(lines, 20000) if line.strip())


def _sentiment_words() -> frozenset[str]:
    """Words of VADER's lexicon ("joy", "hope"…): a feeling, not a name (read once, for the
    first-name list)."""
    import vaderSentiment

    lexicon = Path(vaderSentiment.__file__).parent / "vader_lexicon.txt"
    return frozenset(
        line.split("\t", 1)[0].lower() for line in lexicon.read_text(errors="replace").splitlines() if line
    )


def _sub(pattern: re.Pattern[str], text: str, tag: str, keep: Callable[[str], bool] | None = None) -> str:
    def repl(m: re.Match[str]) -> str:
        return tag if keep is None or keep(m.group(0)) else m.group(0)

    return pattern.sub(repl, text)


def _is_card(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def _is_iban(candidate: str) -> bool:
    return bool(stdnum_iban.is_valid(candidate.replace(" ", "")))


def _redact_phones(text: str, regions: Iterable[str]) -> str:
    spans: list[tuple[int, int]] = []
    for region in regions:
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            spans.append((m.start, m.end))
    for m in _PHONE_SHAPE.finditer(text):
        raw = m.group(0).strip()
        digits = re.sub(r"\D", "", raw)
        if 7 <= len(digits) <= 15 and not _DATE_LIKE.match(raw) and not _VERSION_LIKE.match(raw):
            spans.append((m.start(), m.end()))
    return _replace_spans(text, spans, PHONE)


def _replace_spans(text: str, spans: list[tuple[int, int]], tag: str) -> str:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + tag + text[end:]
    return text


def _redact_names(text: str) -> str:
    firsts, lasts = _first_names(), _last_names()
    spans: list[tuple[int, int]] = [(m.start(), m.end()) for m in _TITLED.finditer(text)]
    for m in _NAME_CUE.finditer(text):
        first, last = m.group("first"), m.group("last")
        if first.lower() in _CUE_FALSE:
            continue  # "my name is not important"
        end = m.end("first")
        if last and last.lower() not in _CUE_FALSE and (last.lower() in lasts or last[0].isupper()):
            end = m.end("last")
        spans.append((m.start("first"), end))
    # Known first names anywhere, capitalised (speech recognisers capitalise names), plus a surname.
    for m in re.finditer(rf"\b(?P<first>{_CAP})(?:\s+(?P<last>{_CAP}))?", text):
        first, last = m.group("first"), m.group("last")
        if first.lower() not in firsts:
            continue
        sentence_start = re.search(r"(?:^|[.!?]\s*)$", text[: m.start()]) is not None
        has_surname = bool(last and last.lower() in lasts)
        introduces = text[m.end("first") :].lstrip(" ,").lower().startswith(("here", "speaking"))
        if sentence_start and not has_surname and not introduces:
            continue  # "Will it work?": a capital that only marks the sentence start
        end = m.end("last") if has_surname else m.end("first")
        spans.append((m.start("first"), end))
    return _replace_spans(text, spans, NAME)


def redact(text: str, regions: Iterable[str] = PHONE_REGIONS) -> str:
    """``text`` with personal data replaced by tags; everything else unchanged."""
    if not text:
        return text
    text = _sub(_EMAIL, text, EMAIL)
    text = _sub(_SPOKEN_EMAIL, text, EMAIL)
    text = _sub(_IBAN, text, IBAN, _is_iban)
    text = _sub(_CARD, text, CARD, _is_card)
    text = _sub(_ADDRESS, text, ADDRESS)
    text = _sub(_ADDRESS_LOWER, text, ADDRESS)
    text = _sub(_ADDRESS_SUFFIXED, text, ADDRESS)
    text = _sub(_POSTCODE_UK, text, ADDRESS)
    text = _redact_phones(text, regions)
    text = _sub(_SPOKEN_NUMBER, text, PHONE)
    text = _redact_names(text)
    return text
