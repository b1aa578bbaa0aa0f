"""The "console" configuration section (env VOICEBOT_CONSOLE__<FIELD>)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ConsoleSettings(BaseModel):
    """voicebot.console (config section "console")."""

    # Signs the session cookies; None: a secret made on first start in <data_dir>/console-secret.
    secret_key: str | None = None
    # Cookies only over HTTPS (behind the TLS proxy). Browsers also accept them from http://localhost.
    secure_cookies: bool = True
    session_hours: float = Field(10.0, gt=0)  # a sign-in lasts this long
    sign_in_attempts: int = Field(5, ge=1)  # failed sign-ins allowed per address and per name...
    sign_in_window_s: float = Field(300.0, gt=0)  # ...within this many seconds
    publish_live: bool = True  # services publish their conversations for the console
    live_topic: str = "voicebot/live"  # the prefix live conversations are published under
    live_stale_s: float = Field(1800.0, gt=0)  # a live conversation silent this long is no longer shown
    callback_slot_minutes: int = Field(30, ge=5, le=240)  # the callback times offered inside the windows
