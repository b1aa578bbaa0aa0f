"""Reply texts as data: one YAML file per language (en.yaml is complete; others may leave
keys out, which then fall back to English). Texts are Python format strings."""

from __future__ import annotations

import random
import string
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent

# English device names that are plural nouns take "are": "the living room blinds are open".
PLURAL_NOUNS = frozenset(
    ["blinds", "shades", "curtains", "drapes", "shutters", "lights", "lamps", "bulbs", "spotlights", "speakers", "heaters", "fans"]
)


def is_plural_name(name: str) -> bool:
    words = name.lower().split()
    return bool(words) and words[-1] in PLURAL_NOUNS


class Replies:
    def __init__(self, folder: Path = HERE, seed: int | None = 0) -> None:
        self.texts: dict[str, dict[str, str | list[str]]] = {}
        for path in sorted(folder.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise ValueError(f"{path}: reply file must map keys to texts")
            self.texts[path.stem] = data
        if "en" not in self.texts:
            raise ValueError(f"{folder}: en.yaml (the complete English replies) is missing")
        # Variants are picked by a seeded generator so a scripted conversation reads the same each run.
        self._random = random.Random(seed)
        for lang, texts in self.texts.items():
            for key in texts:
                if key not in self.texts["en"]:
                    raise ValueError(f"{lang}.yaml: key {key!r} has no English original")

    @property
    def languages(self) -> list[str]:
        return sorted(self.texts)

    def say(self, key: str, language: str = "en", *, part: bool = False, **values: Any) -> str:
        """The reply ``key`` filled with ``values``; ``part``: a phrase inside another reply
        (not capitalised)."""
        text = self.texts.get(language, {}).get(key)
        if text is None:
            text = self.texts["en"][key]  # KeyError: a reply key the code uses but en.yaml lacks
        if isinstance(text, list):
            text = self._random.choice(text)
        if language == "en" and is_plural_name(str(values.get("device", ""))):
            text = text.replace("{device} is ", "{device} are ").replace("{device} was ", "{device} were ")
        names = {n for _, n, _, _ in string.Formatter().parse(text) if n}
        out = text.format(**{n: values.get(n, "") for n in names})
        out = out if part else out.strip()
        if text.startswith("{") and not part:  # a sentence that starts with a device: "the kitchen light is ..."
            out = out[:1].upper() + out[1:]
        return out


@cache
def default_replies() -> Replies:
    return Replies()
