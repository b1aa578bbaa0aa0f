"""The sign-in limit is kept in the store: two console processes on one database (SQLite or a
real PostgreSQL server) count the same failed attempts, so guessing cannot be spread over them."""

from __future__ import annotations

from pathlib import Path

from console_helpers import get_json, served

from voicebot.config import Settings
from voicebot.console.app import create_app
from voicebot.console.auth import hash_password
from voicebot.console.server import build_console

PASSWORD = "carol-password-333"


def test_two_consoles_on_one_store_share_the_sign_in_limit(store_location: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    settings.extra["console"] = {"sign_in_attempts": 3, "sign_in_window_s": 600}
    first, second = build_console(settings, store_location), build_console(settings, store_location)
    try:
        first.console.db.add_agent("carol", "agent", hash_password(PASSWORD))
        with served(create_app(first.console)) as a, served(create_app(second.console)) as b:
            assert get_json(f"{b}/api/tickets", "carol", PASSWORD)[0] == 200  # the agent is on both
            # Three wrong guesses, spread over the two processes...
            for url in (a, b, a):
                assert get_json(f"{url}/api/tickets", "carol", "guess-guess-guess")[0] == 401
            # ...and both refuse even the right password, saying for how long.
            for url in (b, a):
                status, body = get_json(f"{url}/api/tickets", "carol", PASSWORD)
                assert status == 429, (url, status, body)
            second.console.limiter.clear()  # an operator lets the agent in again, on every process
            assert get_json(f"{a}/api/tickets", "carol", PASSWORD)[0] == 200
    finally:
        first.close()
        second.close()
