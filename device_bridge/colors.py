"""Colour names people say, as RGB (CSS colour keywords, which Home Assistant's
``color_name`` also uses)."""

from __future__ import annotations


class UnknownColour(ValueError):
    """A colour name not in the list; the caller turns it into a rejection with the name."""

# A spoken-language subset of the CSS keywords; "warm white" and friends are
# colour temperatures, handled by the caller as color_temp.
_NAMES: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "lime": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "orange": (255, 165, 0),
    "purple": (128, 0, 128),
    "violet": (238, 130, 238),
    "pink": (255, 192, 203),
    "magenta": (255, 0, 255),
    "cyan": (0, 255, 255),
    "turquoise": (64, 224, 208),
    "teal": (0, 128, 128),
    "white": (255, 255, 255),
    "gold": (255, 215, 0),
    "indigo": (75, 0, 130),
    "crimson": (220, 20, 60),
    "coral": (255, 127, 80),
    "salmon": (250, 128, 114),
    "lavender": (230, 230, 250),
    "aqua": (0, 255, 255),
    "amber": (255, 191, 0),
}


def named_rgb(name: str) -> tuple[int, int, int]:
    key = name.strip().lower().replace(" ", "").replace("_", "")
    if key in _NAMES:
        return _NAMES[key]
    raise UnknownColour(name)
