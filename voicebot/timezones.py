"""A configuration field naming a timezone (``Europe/Berlin``), checked when the file is read."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except Exception as exc:  # ZoneInfo raises several kinds for a bad name
        raise ValueError(f"unknown timezone {value!r}") from exc
    return value


TimezoneName = Annotated[str, AfterValidator(_known_zone)]
