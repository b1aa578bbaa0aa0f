"""A media command or a request for content: "pause the music" operates the player, "play my jazz
playlist" or "skip to the next episode" asks for something voicebot cannot choose (it has no
library, no podcasts, no playlists). Operating the player on such a request would be acting on a
misunderstanding, so it is no device request at all.

The rule, one for every home and sentence (the words are data: ``media`` in data/<lang>.yaml):
- a transport verb (pause, resume, skip, previous, mute) with a player said (its name, a room,
  "the tv") may take any object: the customer is directing that player;
- without a player said it may take only the objects Home Assistant's own sentences use ("the
  music", "this song", "the track"); any other object is content;
- "play" resumes only when nothing follows but a player or a room ("play the tv", "play it
  again"); "play music", "play some david bowie" ask for content.
"""

from __future__ import annotations

from typing import Any

from voicebot.understand.mentions import HomeIndex, Mentions
from voicebot.understand.vocabulary import Rule, Vocabulary

TRANSPORT = frozenset({"HassMediaPause", "HassMediaUnpause", "HassMediaNext", "HassMediaPrevious"})
# Words that carry no object of their own ("please skip it for me now").
_GLUE = frozenset(
    ["a", "an", "the", "my", "our", "your", "this", "that", "it", "to", "in", "on", "at", "of", "for", "with",
     "and", "please", "can", "could", "would", "will", "you", "me", "us", "just", "now", "again", "then", "some",
     "thanks", "thank", "hey", "ok", "okay", "all", "way", "down", "up", "right", "away", "there", "here"]
)
_PRONOUNS = frozenset(["them", "those", "these", "they", "its", "their", "one", "ones", "bit", "little", "more", "way"])


def is_media_command(vocab: Vocabulary, intent: str | None, slots: dict[str, Any], plain: str) -> bool:
    """Whether the understanding is a transport command on a player (mute included)."""
    if intent in TRANSPORT:
        return True
    return intent == "HassSetVolume" and slots.get("volume_level") == 0 and vocab.any_match(vocab.media_mute, plain)


def starts_content(vocab: Vocabulary, intent: str | None, m: Mentions) -> bool:
    """"Turn on my music", "music on": a turn-on whose only target is a media object asks for
    content to be played, not for a player to be powered."""
    if intent != "HassTurnOn" or m.names or m.areas or m.floors or m.here:
        return False
    kinds = _kinds(m)
    return bool(kinds) and all(phrase in vocab.media_objects for _, phrase in kinds)


def unexplained_object(vocab: Vocabulary, rule: Rule, plain: str, m: Mentions) -> list[str]:
    """Words beside the rule's own verb that name nothing of the home (``object: home`` rules)."""
    found = rule.match(plain)
    if found is None:
        return []
    start = len(plain[: found.start()].split())
    end = start + len(plain[found.start() : found.end()].split())
    explained = _named_positions(m, vocab) | set(range(start, end))
    allowed = _GLUE | vocab.neutral | frozenset(vocab.fillers) | _PRONOUNS
    return [t for i, t in enumerate(m.tokens) if i not in explained and t not in allowed and not t.isdigit()]


def content_words(vocab: Vocabulary, intent: str | None, plain: str, m: Mentions, index: HomeIndex) -> list[str]:
    """The words that make a media command a request for content (empty: it is a command)."""
    if not vocab.media_verbs:
        return []  # a language without the data: its templates decide
    player_said = bool(m.areas or m.floors or m.here) or any(
        str(index.devices[i].type) == "media_player" for h in m.names for i in h.device_ids
    ) or any(k.domain == "media_player" for k, phrase in _kinds(m) if phrase not in vocab.media_objects)
    plays = (intent == "HassMediaUnpause" and not vocab.any_match(vocab.media_resume, plain)) or intent == "HassTurnOn"
    if player_said and not plays:
        return []
    explained = _named_positions(m, vocab)
    allowed = vocab.media_verbs | _GLUE | vocab.neutral | frozenset(vocab.fillers)
    if not plays:
        allowed |= vocab.media_objects
    # a number after "play" is a station or a track ("play ninety three point five"), not a player
    return [t for i, t in enumerate(m.tokens)
            if i not in explained and t not in allowed and (plays or not t.replace(".", "").isdigit())]


def _kinds(m: Mentions) -> list[tuple[Any, str]]:
    return [(v, " ".join(m.tokens[s:e])) for k, v, s, e in m.spans if k == "kind"]


def _named_positions(m: Mentions, vocab: Vocabulary) -> set[int]:
    """Token positions that name a device, room or floor of the home (kind words that are media
    objects, such as "music", are objects here, not players)."""
    positions = {i for h in m.names for i in range(h.start, h.end)}
    for kind, _value, start, end in m.spans:
        if kind == "kind" and " ".join(m.tokens[start:end]) in vocab.media_objects:
            continue
        if kind in ("area", "floor", "kind", "here"):
            positions.update(range(start, end))
    return positions
