"""Unknown keys and wrong values in the configuration file or VOICEBOT_* variables are one
clear line each (where, what was given, what is expected, the nearest valid key), exit 2,
never a traceback and never silently ignored; `voicebot config check` shows what is in effect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import CliDone

VOICEBOT = [sys.executable, "-c", "from voicebot.cli import main; main()"]


def _spawn(args: list[str], tmp_path: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """The real `voicebot` process: what a user's shell sees (exit status, stderr, no traceback)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
    return subprocess.run([*VOICEBOT, *args], input=stdin, capture_output=True, text=True, timeout=180,
                          env={**clean, "VOICEBOT_DATA_DIR": str(tmp_path / "data"), **env})


@pytest.fixture()
def run(voicebot_cli: Callable[..., CliDone]) -> Callable[..., CliDone]:
    """The same command line in this process (tests/conftest.py): the code that loads and
    checks the configuration is the same; the two `_spawn` tests prove the process itself."""

    def invoke(args: list[str], tmp_path: Path, stdin: str = "", **env: str) -> CliDone:
        return voicebot_cli(args, stdin, VOICEBOT_DATA_DIR=str(tmp_path / "data"), **env)

    return invoke


def test_a_misspelt_safety_setting_stops_chat_before_any_device_is_operated(tmp_path: Path) -> None:
    conf = tmp_path / "voicebot.yaml"
    conf.write_text("dialogue:\n  forbiden_devices: [Kitchen Light]\n")
    done = _spawn(["-c", str(conf), "chat", "--json"], tmp_path, stdin="turn on the kitchen light\n")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "dialogue.forbiden_devices: unknown key" in done.stderr
    assert "did you mean forbidden_devices?" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize(("text", "expected"), [
    ("transcribe:\n  threads: two\n", "transcribe.threads = 'two': expected a valid integer"),
    ("listen:\n  vad_aggressiveness: 9\n", "listen.vad_aggressiveness = 9: expected less than or equal to 3"),
    ("listen:\n  frame_ms: loud\n", "listen.frame_ms = 'loud': expected 10, 20 or 30"),
    ("transcribe:\n  modle: small\n", "transcribe.modle: unknown key (value 'small'); did you mean model?"),
    ("feedbak:\n  keep_audio: true\n", "feedbak: unknown section (value {'keep_audio': True}); did you mean feedback?"),
    ("feedback:\n  max_chunks: many\n", "feedback.max_chunks = 'many': expected a valid integer"),
    ("dialogue:\n  sensitive_commands:\n    - {domian: cover}\n",
     "dialogue.sensitive_commands[0].domian: unknown key (value 'cover'); did you mean domain?"),
])
def test_each_problem_in_a_file_is_one_line(run: Callable[..., CliDone], tmp_path: Path, text: str, expected: str) -> None:
    conf = tmp_path / "voicebot.yaml"
    conf.write_text(text)
    for args in (["-c", str(conf), "transcribe", str(tmp_path / "none.wav")], ["config", "check", str(conf)]):
        done = run(args, tmp_path)
        if args[2] == "transcribe" and text.split(":")[0] in ("feedback", "dialogue"):
            continue  # a section transcribe does not read is checked by `config check`
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert f"configuration file {conf}: {expected}" in done.stderr, done.stderr


def test_variables_are_checked_too(run: Callable[..., CliDone], tmp_path: Path) -> None:
    done = run(["transcribe", str(tmp_path / "none.wav")], tmp_path, VOICEBOT_TRANSCRIBE__THREADS="two",
                VOICEBOT_LISTEN__VAD="1", VOICEBOT_DIALOG__STORE="x")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert "  environment VOICEBOT_TRANSCRIBE__THREADS: transcribe.threads = 'two': expected a valid integer, " \
           "unable to parse string as an integer" in lines
    assert "  environment VOICEBOT_LISTEN__VAD: listen has no setting 'vad'; did you mean " \
           "VOICEBOT_LISTEN__VAD_AGGRESSIVENESS?" in lines
    assert "  environment VOICEBOT_DIALOG__STORE: not a voicebot setting; did you mean VOICEBOT_DIALOGUE__STORE?" \
           in lines
    done = run(["config", "check"], tmp_path, VOICEBOT_FEEDBACK__MAX_CHUNK="3")
    assert done.returncode == 2
    assert "did you mean VOICEBOT_FEEDBACK__MAX_CHUNKS?" in done.stderr


def test_a_misspelt_variable_is_named_but_its_value_never_shown(run: Callable[..., CliDone], tmp_path: Path) -> None:
    conf = tmp_path / "voicebot.yaml"
    conf.write_text("mqtt:\n  pasword: hunter2-file\n  password: [mqtt://u:pw-in-url@h]\n")
    done = run(["config", "check", str(conf)], tmp_path, VOICEBOT_MQTT__PASSWROD="hunter2-secret",
                VOICEBOT_MQTT_PASSWORD="sk-live-123456", VOICEBOT_LLM__APIKEY="sk-live-abcdef")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert "  environment VOICEBOT_MQTT__PASSWROD: mqtt has no setting 'passwrod'; did you mean " \
           "VOICEBOT_MQTT__PASSWORD?" in lines, lines
    assert "  environment VOICEBOT_MQTT_PASSWORD: not a voicebot setting; did you mean " \
           "VOICEBOT_MQTT__PASSWORD?" in lines, lines
    assert any(line.startswith("  environment VOICEBOT_LLM__APIKEY: llm has no setting 'apikey'; did you mean "
                               "VOICEBOT_LLM__API_KEY?") for line in lines), lines
    assert f"  configuration file {conf}: mqtt.pasword: unknown key (value ********); did you mean password?" \
           in lines, lines
    assert any("mqtt.password = ********: expected" in line for line in lines), lines
    for secret in ("hunter2-secret", "sk-live-123456", "sk-live-abcdef", "hunter2-file", "pw-in-url"):
        assert secret not in done.stdout + done.stderr


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    conf = tmp_path / "voicebot.yaml"
    conf.write_bytes(b"dialogue:\n  store: caf\xe9.sqlite3\n")
    done = _spawn(["config", "check", str(conf)], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"configuration file {conf} is not UTF-8 text" in done.stderr


def test_config_check_prints_the_effective_configuration_with_secrets_masked(run: Callable[..., CliDone], tmp_path: Path) -> None:
    import yaml

    conf = tmp_path / "voicebot.yaml"
    conf.write_text("mqtt:\n  broker: mqtt://bot:hunter2@hub.local:1883\n  password: s3cret\n"
                    "phone:\n  twilio_auth_token: abcdef\nfeedback:\n  max_chunks: 100\n")
    done = run(["config", "check", str(conf)], tmp_path, VOICEBOT_LLM__API_KEY="sk-live-123",
                VOICEBOT_TRANSCRIBE__THREADS="4")
    assert done.returncode == 0, done.stderr
    effective = yaml.safe_load(done.stdout)
    assert effective["mqtt"]["broker"] == "mqtt://bot:********@hub.local:1883"
    assert effective["mqtt"]["password"] == "********" and effective["phone"]["twilio_auth_token"] == "********"
    assert effective["llm"]["api_key"] == "********"
    assert effective["feedback"]["max_chunks"] == 100 and effective["transcribe"]["threads"] == 4
    assert effective["dialogue"]["forbidden_devices"] == []
    for secret in ("hunter2", "s3cret", "abcdef", "sk-live-123"):
        assert secret not in done.stdout + done.stderr
    assert json.dumps(effective)  # plain data


def test_every_registered_section_has_a_loadable_model() -> None:
    from pydantic import BaseModel

    from voicebot.config_check import CORE, SECTIONS, section_model

    for name in (*CORE, *SECTIONS):
        assert issubclass(section_model(name), BaseModel), name


def test_a_section_that_is_not_a_mapping_is_one_clear_error(tmp_path: Path) -> None:
    # found by the fuzzer: `phone: "x"` raised ValueError from dict() past ConfigError
    from voicebot.config import ConfigError, Settings, section
    from voicebot.settings import read_config_file
    from voicebot.store_crypto import StoreSettings

    cfg = tmp_path / "voicebot.yaml"
    cfg.write_text("store: just a word\n")
    settings = Settings.model_validate(read_config_file(cfg))
    with pytest.raises(ConfigError, match="store: expected a section"):
        section(StoreSettings, "store", settings)
