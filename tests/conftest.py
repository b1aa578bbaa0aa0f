"""Fixtures shared by the whole suite: a real Mosquitto broker, real audio, real models."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from device_bridge.broker import MosquittoBroker

ROOT = Path(__file__).resolve().parents[1]
SHARED_AUDIO = ROOT.parent / "shared" / "data" / "audio"


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    """Real human recordings with transcripts (../shared/data/audio)."""
    assert SHARED_AUDIO.is_dir(), f"missing {SHARED_AUDIO}: the shared/ folder must sit beside the checkout"
    return SHARED_AUDIO


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoBroker]:
    """One real Mosquitto broker for the session, on a free loopback port."""
    with MosquittoBroker() as broker:
        yield broker


@pytest.fixture()
def own_mosquitto() -> Iterator[MosquittoBroker]:
    """A broker of the test's own, which the test may stop and start again."""
    broker = MosquittoBroker().start()
    try:
        yield broker
    finally:
        broker.stop()


# --- audio core (voicebot.models): real models, loaded once per test session ---


@pytest.fixture(scope="session")
def transcriber():  # -> voicebot.transcribe.FasterWhisperTranscriber
    """The bundled Whisper tiny.en, shared by the whole test session (thread-safe)."""
    from voicebot.config import Settings
    from voicebot.models import load_transcriber

    return load_transcriber(Settings())


@pytest.fixture(scope="session")
def synthesizer():  # -> voicebot.voices.VoicesByLanguage (the Piper voice for English)
    """The bundled Piper voice (joe), shared by the whole test session (thread-safe)."""
    from voicebot.config import Settings
    from voicebot.models import load_synthesizer

    return load_synthesizer(Settings())


@pytest.fixture(scope="session")
def tiny_model_path() -> Path:
    """The CTranslate2 directory of the bundled Whisper tiny.en."""
    from voicebot.models import resolve_whisper

    return resolve_whisper("tiny.en")


# --- the store on both engines: SQLite (the default) and a real PostgreSQL server ---


@pytest.fixture(scope="session")
def postgres():  # -> voicebot.testing.postgres.PostgresServer
    """One real PostgreSQL server for the session (Debian's postgresql, run as the postgres user
    in a temporary folder on a free loopback port), stopped and removed at the end."""
    from voicebot.testing.postgres import PostgresServer

    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_store_key() -> str:
    """The store key every PostgreSQL test store is sealed with (hosts share it: store.key)."""
    from voicebot.store_crypto import new_key

    return new_key()


@pytest.fixture(scope="session")
def postgres_template(postgres, postgres_store_key: str) -> str:  # type: ignore[no-untyped-def]
    """A database migrated once; each test gets a copy (CREATE DATABASE … TEMPLATE), which is
    much faster than migrating every test's database."""
    from voicebot.database import open_engine
    from voicebot.store import Store
    from voicebot.store_crypto import StoreSettings

    url = postgres.new_database("template_store")
    Store(url, store_settings=StoreSettings(key=postgres_store_key))
    open_engine(url).dispose()  # a template must have no connections
    return url.rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def store_location(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Where a test's store is, once per engine: a SQLite file, and a fresh database on the
    session's PostgreSQL server (its key in VOICEBOT_STORE__KEY, as several hosts would have it)."""
    if request.param == "sqlite":
        yield str(tmp_path / "voicebot.sqlite3")
        return
    from voicebot.database import open_engine

    server = request.getfixturevalue("postgres")
    monkeypatch.setenv("VOICEBOT_STORE__KEY", request.getfixturevalue("postgres_store_key"))
    url = server.new_database(template=request.getfixturevalue("postgres_template"))
    try:
        yield url
    finally:
        open_engine(url).dispose()
        server.drop_database(url)


# --- the `voicebot` command line, in this process ---


@dataclass
class CliDone:
    """What a run of the command left: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture()
def voicebot_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliDone]:
    """Run the `voicebot` command line in this process through its Typer app: the same
    commands, configuration loading and messages as the installed command, without a fresh
    Python and its imports per run (10-30 s each on a busy machine). For what the process
    itself does (its exit status, a traceback or not) a test still starts one.

    ``invoke(args, stdin="", **env)`` runs with no VOICEBOT_* variables but those given; the
    variables and the cached settings the CLI sets are undone after the test."""
    from typer.testing import CliRunner

    import voicebot.config
    from voicebot.cli import app

    def invoke(args: list[str], stdin: str = "", **env: str) -> CliDone:
        for var in [v for v in os.environ if v.startswith("VOICEBOT_")]:
            monkeypatch.delenv(var)
        monkeypatch.setenv("VOICEBOT_CONFIG", "")  # the CLI writes it: restored afterwards
        monkeypatch.delenv("VOICEBOT_CONFIG")
        monkeypatch.setattr(voicebot.config, "_settings", None)
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        result = CliRunner().invoke(app, args, input=stdin)
        # an exception the command did not turn into a message: exit 1 with the exception kept
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        return CliDone(result.exit_code, result.stdout, result.stderr)

    return invoke
