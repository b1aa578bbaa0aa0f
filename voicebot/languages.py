"""Language tags as voicebot compares them."""

from __future__ import annotations


def primary_language(tag: str | None) -> str | None:
    """'en-US', 'en_US', ' EN ' → 'en' (the part a reply's language, a voice and a request
    share); None or empty → None."""
    return (tag or "").strip().lower().replace("_", "-").split("-")[0] or None
