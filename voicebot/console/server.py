"""Assembling and serving the console: the store, the console's tables, the live board on the
broker, and uvicorn."""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voicebot.config import Settings, section
from voicebot.console.app import Console, create_app
from voicebot.console.auth import session_secret
from voicebot.console.board import LiveBoard
from voicebot.console.db import ConsoleDB
from voicebot.console.settings import ConsoleSettings
from voicebot.dialogue.playbook import load_playbooks
from voicebot.dialogue.settings import DialogueSettings
from voicebot.store import Store
from voicebot.store_crypto import StoreSettings


def store_location(settings: Settings, store: str | Path | None) -> str:
    """``--store``, else ``dialogue.store``, else ``store.url``, else <data_dir>/voicebot.sqlite3 (as the other services)."""
    from voicebot.sqlite_db import store_location

    return str(store_location(settings, store, section(DialogueSettings, "dialogue", settings).store))


def open_console_db(settings: Settings, store: str | Path | None) -> tuple[Store, ConsoleDB]:
    location = store_location(settings, store)
    st = Store(location, store_settings=section(StoreSettings, "store", settings))
    return st, ConsoleDB(location, st.cipher)


@dataclass
class RunningConsole:
    console: Console
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        while self.closers:
            with contextlib.suppress(Exception):
                self.closers.pop()()


def build_console(settings: Settings, store: str | Path | None = None, broker: str | None = None) -> RunningConsole:
    """The console over the store; with a broker (``--broker`` or ``mqtt.broker``) it also sees
    live conversations and can step into them."""
    cs = section(ConsoleSettings, "console", settings)
    dialogue = section(DialogueSettings, "dialogue", settings)
    st, db = open_console_db(settings, store)
    running = RunningConsole(Console(st, db, cs, dialogue, load_playbooks(dialogue.playbook_dirs),
                                     session_secret(cs.secret_key, settings.data_dir / "console-secret")))
    running.closers.append(st.close)
    url = broker or settings.mqtt.broker
    if url:
        from device_bridge.client import MqttConnection

        m = settings.mqtt
        conn = MqttConnection(url, username=m.username, password=m.password, ca_file=m.ca_file,
                              cert_file=m.cert_file, key_file=m.key_file)
        conn.start(wait=5.0)
        running.closers.append(conn.stop)
        board = LiveBoard(conn, cs.live_topic, cs.live_stale_s).start()
        running.closers.append(board.stop)
        running.console.board = board
    return running


def listen(host: str, port: int) -> socket.socket:
    """The console's listening socket, bound before uvicorn starts: a busy address is one clear
    error, and port 0 gets a free port that can be printed."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # from here on, requests wait for uvicorn instead of being refused
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def serve(running: RunningConsole, sock: socket.socket) -> None:
    """Until SIGINT or SIGTERM; either ends it cleanly (the caller then closes ``running``)."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(create_app(running.console), host=host, port=port, log_level="warning",
                            proxy_headers=True, forwarded_allow_ips="127.0.0.1", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    # uvicorn handles SIGTERM while it serves and then raises it again, which by default would end
    # the process before the store and the broker connection are closed.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: setattr(server, "should_exit", True))
    try:
        server.run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
