"""What the bot may say about what happens after a hand-over: only what the configuration says."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from voicebot.dialogue.replies import Replies
from voicebot.dialogue.settings import WEEKDAYS, DialogueSettings, Window


@dataclass
class NextStep:
    transfer: bool  # hand the call to an agent now
    text: str  # the honest sentence about what happens next


def in_windows(windows: list[Window], moment: dt.datetime) -> bool:
    return any(w.contains(moment) for w in windows)


def next_window(windows: list[Window], moment: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The window we are in, or the next one to start within a week: (start, end)."""
    best: tuple[dt.datetime, dt.datetime] | None = None
    for offset in range(8):
        day = (moment + dt.timedelta(days=offset)).date()
        for w in windows:
            if WEEKDAYS[day.weekday()] not in w.days:
                continue
            start = dt.datetime.combine(day, w.start, moment.tzinfo)
            end = dt.datetime.combine(day, w.end, moment.tzinfo)
            if end <= moment:
                continue
            if best is None or start < best[0]:
                best = (start, end)
        if best is not None:
            return best
    return None


def _clock(t: dt.time) -> str:
    return "24:00" if t == dt.time.max else t.strftime("%H:%M")


def _when(start: dt.datetime, end: dt.datetime, moment: dt.datetime, replies: Replies, lang: str) -> str:
    if start <= moment:
        return replies.say("when_today_before", lang, part=True, end=_clock(end.time()))
    if start.date() == moment.date():
        day = replies.say("day_today", lang, part=True)
    elif start.date() == moment.date() + dt.timedelta(days=1):
        day = replies.say("day_tomorrow", lang, part=True)
    else:
        weekday = replies.say(f"weekday_{WEEKDAYS[start.weekday()]}", lang, part=True)
        day = replies.say("day_on", lang, part=True, weekday=weekday)
    return replies.say("when_day", lang, part=True, day=day, start=_clock(start.time()), end=_clock(end.time()))


def what_happens_next(
    settings: DialogueSettings,
    ticket_id: str,
    can_transfer: bool,
    have_number: bool,
    replies: Replies,
    language: str = "en",
    moment: dt.datetime | None = None,
) -> NextStep:
    """Transfer now, a callback in the next configured window, or an honest "I can't say when"."""
    now = moment or settings.now()
    say = replies.say
    ticket = say("ticket_opened", language, ticket=ticket_id)
    if settings.live_transfer and can_transfer and in_windows(settings.agent_hours, now):
        return NextStep(True, f"{ticket} {say('next_transfer', language)}")
    if not have_number:
        return NextStep(False, f"{ticket} {say('next_no_number', language, ticket=ticket_id)}")
    hours = f"{settings.callback_within_hours:g}" if settings.callback_within_hours else ""
    window = next_window(settings.callback_windows, now) if settings.callback_windows else None
    if window is not None:
        text = f"{ticket} {say('next_callback', language, when=_when(*window, now, replies, language))}"
        if hours:
            text += " " + say("next_callback_aim", language, hours=hours)
        return NextStep(False, text)
    if hours:
        return NextStep(False, f"{ticket} {say('next_callback_within', language, hours=hours)}")
    return NextStep(False, f"{ticket} {say('next_unknown', language)}")
