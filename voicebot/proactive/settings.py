"""The ``proactive`` configuration section (``VOICEBOT_PROACTIVE__<FIELD>``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from voicebot.timezones import TimezoneName

Channel = Literal["speaker", "phone"]
CONTACT_TOPIC = "voicebot/support/contact"  # the topic feedback follow-ups use too


class QuietHours(BaseModel):
    """A daily quiet time, e.g. 22:00-07:00 (it may run over midnight), in the section's timezone."""

    start: dt.time
    end: dt.time

    def contains(self, moment: dt.datetime) -> bool:
        now = moment.time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def ends_after(self, moment: dt.datetime) -> dt.datetime:
        """The first end of the quiet time after ``moment`` (a zone-aware time)."""
        end = moment.replace(hour=self.end.hour, minute=self.end.minute, second=self.end.second, microsecond=0)
        return end if end > moment else end + dt.timedelta(days=1)


class ProactiveSettings(BaseModel):
    """voicebot.proactive (config section "proactive")."""

    rules: Path | None = None  # a rules YAML file; None: the bundled voicebot/proactive/rules.yaml
    contact_topic: str = CONTACT_TOPIC
    # Whose home this is (a customer id of the store). None: the customer whose home_file is the
    # --home file, if any; contacts then carry no customer and only the speaker in the home says them.
    customer: str | None = None
    # Defaults for customers who set no preferences of their own (voicebot proactive-prefs).
    channels: list[Channel] = Field(default_factory=lambda: ["speaker", "phone"])  # allowed
    preferred_channel: Channel = "speaker"
    quiet_hours: QuietHours | None = Field(default_factory=lambda: QuietHours(start=dt.time(22), end=dt.time(7)))
    timezone: TimezoneName = "UTC"
    opt_out: list[str] = Field(default_factory=list)  # finding kinds nobody is contacted about
    # Rate limit per customer (safety findings are never held back).
    max_contacts_per_day: int = Field(3, ge=1)
    min_contact_interval_s: float = Field(3600.0, ge=0)
    tick_s: float = Field(1.0, gt=0, le=60)  # how often time-based rules (grace periods) are evaluated
    # Conversation openers: a finding already offered is not offered again for this long.
    reoffer_after_s: float = Field(86400.0, ge=0)
    # The smart speaker says an announcement only after this much quiet (nobody talking, bot silent).
    announce_quiet_s: float = Field(2.0, ge=0)

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
