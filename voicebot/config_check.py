"""Strict configuration: every unknown key and every wrong value, in the file or in a
``VOICEBOT_*`` variable, is one line of a ConfigError that says where it is, what was
given, what is expected and (for a misspelt key) the nearest valid one::

    configuration file voicebot.yaml: dialogue.forbiden_devices: unknown key; did you mean forbidden_devices?
    environment VOICEBOT_TRANSCRIBE__THREADS: transcribe.threads = 'two': expected a valid integer
    environment VOICEBOT_MQTT__PASSWROD: mqtt has no setting 'passwrod'; did you mean VOICEBOT_MQTT__PASSWORD?

An unknown variable is named, never its value; a value of a key that names a secret is masked.

A typo in a safety setting (``forbidden_devices``) must never be silently ignored.
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
import re
import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from voicebot.settings import ConfigError, Settings, read_raw_config

T = TypeVar("T", bound=BaseModel)

# Sections of later stages (read with ``config.section``): name -> "module:Model". A new
# section must be added here, or the file's key for it is reported as unknown.
SECTIONS: dict[str, str] = {
    "console": "voicebot.console.settings:ConsoleSettings",
    "customers": "voicebot.customers.settings:CustomerSettings",
    "dialogue": "voicebot.dialogue.settings:DialogueSettings",
    "feedback": "voicebot.feedback.settings:FeedbackSettings",
    "llm": "voicebot.dialogue.llm.settings:LLMSettings",
    "phone": "voicebot.phone.service:PhoneSettings",
    "proactive": "voicebot.proactive.settings:ProactiveSettings",
    "session": "voicebot.session:SessionSettings",
    "store": "voicebot.store_crypto:StoreSettings",
    "wyoming": "voicebot.wyoming.settings:WyomingSettings",
    "webchat": "voicebot.webchat.settings:WebChatSettings",
}
CORE = ("listen", "transcribe", "speak", "mqtt")
ENV_PREFIX = "VOICEBOT_"
# VOICEBOT_ variables that are not settings
ENV_OTHER = {"VOICEBOT_CONFIG"}
SECRET_WORDS = ("password", "token", "api_key", "secret", "auth", "key")


def section_model(name: str) -> type[BaseModel]:
    if name in CORE:
        return Settings.model_fields[name].annotation  # type: ignore[return-value]
    module, cls = SECTIONS[name].split(":")
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def _file_label() -> str:
    path = os.environ.get("VOICEBOT_CONFIG")
    return f"configuration file {path}" if path else "configuration"


def _closest(word: str, candidates: typing.Iterable[str]) -> str | None:
    options = sorted(candidates)
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if match:
        return match[0]
    longer = [c for c in options if len(word) >= 3 and c.startswith(word)]  # vad -> vad_aggressiveness
    return longer[0] if len(longer) == 1 else None


def _nearest(word: str, candidates: typing.Iterable[str]) -> str:
    match = _closest(word, candidates)
    return f"; did you mean {match}?" if match else ""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _secret(*names: str | None) -> bool:
    """Whether a key (or the key it was probably meant to be) names a secret."""
    return any(n and any(w in n.lower() for w in SECRET_WORDS) for n in names)


def _shown(value: Any, *names: str | None) -> str:
    """The value for a message, masked where the key names a secret (as ``mask`` does for the
    effective configuration): a message ends up in a terminal or a log."""
    return "********" if _secret(*names) else _show(mask(value))


def _env_names() -> list[str]:
    """Every VOICEBOT_ variable that is a setting, for the nearest one to a misspelt name (a
    section whose model cannot be loaded offers its pattern, VOICEBOT_<SECTION>__<KEY>)."""
    names = [*ENV_OTHER, "VOICEBOT_DATA_DIR"]
    for sec in (*CORE, *SECTIONS):
        try:
            fields = _field_names(section_model(sec))
        except ImportError:
            names.append(f"{ENV_PREFIX}{sec.upper()}__<KEY>")
            continue
        names += [f"{ENV_PREFIX}{sec.upper()}__{f.upper()}" for f in fields]
    return names


def _field_names(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    names |= {f.alias for f in model.model_fields.values() if f.alias}
    return names


def _nested_models(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """(how, model) for an annotation that holds models: ("", M), ("list", M), ("dict", M)."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    if origin in (typing.Union, types.UnionType):
        return [x for a in typing.get_args(annotation) for x in _nested_models(a)]
    if origin in (list, tuple, set, frozenset):
        return [("list", m) for a in typing.get_args(annotation)[:1] for _h, m in _nested_models(a)]
    if origin is dict:
        args = typing.get_args(annotation)
        return [("dict", m) for _h, m in _nested_models(args[1])] if len(args) == 2 else []
    return []


def unknown_keys(model: type[BaseModel], data: Any, path: str) -> list[str]:
    """'path.key: unknown key; did you mean …?' for every key the model does not have."""
    if not isinstance(data, dict) or model.model_config.get("extra") in ("ignore", "allow"):
        return []
    problems = []
    names = _field_names(model)
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in names:
            near = _closest(str(key), names)
            hint = f"; did you mean {near}?" if near else ""
            problems.append(f"{where}: unknown key (value {_shown(value, str(key), near)}){hint}")
            continue
        field = model.model_fields.get(key) or next(f for f in model.model_fields.values() if f.alias == key)
        for how, sub in _nested_models(field.annotation):
            if how == "" and isinstance(value, dict):
                problems += unknown_keys(sub, value, where)
            elif how == "list" and isinstance(value, list):
                for i, item in enumerate(value):
                    problems += unknown_keys(sub, item, f"{where}[{i}]")
            elif how == "dict" and isinstance(value, dict):
                for k, item in value.items():
                    problems += unknown_keys(sub, item, f"{where}.{k}")
            break
    return problems


def _expected(error: Any) -> str:
    msg = str(error["msg"])
    for prefix in ("Input should be ", "Value error, "):
        if msg.startswith(prefix):
            return "expected " + msg[len(prefix):]
    return msg[:1].lower() + msg[1:]


def _validation_lines(exc: ValidationError, section: str) -> list[str]:
    """One line per pydantic error: where the value came from, the value, what was expected."""
    lines = []
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        path = [section, *loc] if section else loc
        var = ENV_PREFIX + "__".join(path[:2]).upper() if len(path) > 1 else ENV_PREFIX + path[0].upper()
        origin = f"environment {var}" if var in os.environ else _file_label()
        given = f" = {_shown(e['input'], path[-1])}" if e.get("type") != "missing" else ""
        lines.append(f"{origin}: {'.'.join(path)}{given}: {_expected(e)}")
    return lines


def _env_value(value: str) -> Any:
    """Lists and mappings may be given as JSON in a variable; anything else stays a string."""
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _section_env(name: str) -> dict[str, tuple[str, str]]:
    """field -> (variable, value) of VOICEBOT_<NAME>__<FIELD> variables."""
    prefix = f"{ENV_PREFIX}{name.upper()}__"
    return {k[len(prefix):].lower(): (k, v) for k, v in os.environ.items() if k.startswith(prefix)}


def checked_section(model: type[T], name: str, data: dict[str, Any]) -> T:
    """A section's model from the file's data and its variables, or a ConfigError listing
    every problem."""
    problems = [f"{_file_label()}: {p}" for p in unknown_keys(model, data, name)]
    env = _section_env(name)
    strict = model.model_config.get("extra") not in ("ignore", "allow")
    names = _field_names(model)
    for field, (var, value) in env.items():
        if strict and field not in names:
            near = _closest(field, names)
            hint = f"; did you mean {ENV_PREFIX}{name.upper()}__{near.upper()}?" if near else ""
            problems.append(f"environment {var}: {name} has no setting {field!r}{hint}")
        else:
            data[field] = _env_value(value)
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        problems += _validation_lines(exc, name)
        result = None
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    assert result is not None
    return result


def checked_settings() -> Settings:
    """Settings(), with the file's top level, the core sections and every VOICEBOT_ variable's
    section and key checked first."""
    raw = read_raw_config(os.environ.get("VOICEBOT_CONFIG"))
    problems: list[str] = []
    top = {"data_dir", *CORE, *SECTIONS}
    for key, value in raw.items():
        if key not in top:
            problems.append(f"{_file_label()}: {key}: unknown section (value {_show(value)}){_nearest(str(key), top)}")
        elif key in CORE:
            problems += [f"{_file_label()}: {p}" for p in unknown_keys(section_model(key), value, key)]
            if value is not None and not isinstance(value, dict):
                problems.append(f"{_file_label()}: {key} = {_show(value)}: expected a mapping of settings")
    env_sections = {f"{ENV_PREFIX}{n.upper()}__": n for n in (*CORE, *SECTIONS)}
    # an unknown variable is named with the nearest valid one, never with its value: what was
    # meant to be VOICEBOT_MQTT__PASSWORD may hold a password
    for var in os.environ:
        if not var.startswith(ENV_PREFIX) or var in ENV_OTHER or var == "VOICEBOT_DATA_DIR":
            continue
        sec = next((n for p, n in env_sections.items() if var.startswith(p)), None)
        if sec is None:
            problems.append(f"environment {var}: not a voicebot setting{_nearest(var, _env_names())}")
        elif sec in CORE:
            field = var[len(ENV_PREFIX) + len(sec) + 2:].lower()
            fields = _field_names(section_model(sec))
            if field not in fields:
                near = _closest(field, fields)
                hint = f"; did you mean {ENV_PREFIX}{sec.upper()}__{near.upper()}?" if near else ""
                problems.append(f"environment {var}: {sec} has no setting {field!r}{hint}")
    try:
        settings = Settings()
    except ValidationError as exc:
        problems += _validation_lines(exc, "")
    if not problems:
        return settings
    raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))


def check_all() -> dict[str, Any]:
    """Validate the file named by VOICEBOT_CONFIG and the variables, every section (the later
    stages' too), and return the effective configuration with secrets masked. Raises
    ConfigError with every problem."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    try:
        out = json.loads(checked_settings().model_dump_json(exclude={"extra"}))
    except ConfigError as exc:
        problems += str(exc).splitlines()[1:]
    raw = read_raw_config(os.environ.get("VOICEBOT_CONFIG"))
    for name in SECTIONS:
        try:
            model = section_model(name)
        except ImportError as exc:  # SECTIONS names a module that moved: say so, never skip silently
            problems.append(f"  section {name}: cannot load its settings model {SECTIONS[name]} ({exc})")
            continue
        data = raw.get(name) or {}
        if not isinstance(data, dict):
            problems.append(f"  {_file_label()}: {name} = {_show(data)}: expected a mapping of settings")
            continue
        try:
            value = checked_section(model, name, dict(data))
        except ConfigError as exc:
            problems += str(exc).splitlines()[1:]
            continue
        out[name] = json.loads(value.model_dump_json())
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(problems))
    return mask(out)


def mask(value: Any, key: str = "") -> Any:
    """Secrets replaced by asterisks: keys that name one, and passwords inside URLs."""
    if isinstance(value, dict):
        return {k: mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, key) for v in value]
    if isinstance(value, str) and value and any(w in key.lower() for w in SECRET_WORDS):
        return "********"
    if isinstance(value, str) and "://" in value and "@" in value:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1********@", value)
    return value


def dump(config: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
