"""Which device domains an intent or a symptom can be about (Home Assistant domain names)."""

from __future__ import annotations

from device_bridge.devices import DeviceType

# every Home Assistant domain the registry knows: all of them can be asked about
ALL = frozenset(t.value for t in DeviceType)
ON_OFF = frozenset({"light", "switch", "fan", "media_player", "climate"})

INTENT_DOMAINS: dict[str, frozenset[str]] = {
    "HassTurnOn": frozenset({"light", "switch", "fan", "cover", "lock", "media_player", "climate", "vacuum", "valve",
                             "scene", "script"}),
    "HassTurnOff": frozenset({"light", "switch", "fan", "cover", "lock", "media_player", "climate", "vacuum", "valve"}),
    "HassToggle": frozenset({"light", "switch", "fan", "cover", "media_player"}),
    "HassLightSet": frozenset({"light"}),
    "HassClimateSetTemperature": frozenset({"climate"}),
    "HassClimateGetTemperature": frozenset({"climate", "sensor"}),
    "HassGetState": ALL,
    "HassSetPosition": frozenset({"cover", "valve"}),  # a valve has a position in HA (the bridge may not set it)
    "HassMediaPause": frozenset({"media_player"}),
    "HassMediaUnpause": frozenset({"media_player"}),
    "HassMediaNext": frozenset({"media_player"}),
    "HassMediaPrevious": frozenset({"media_player"}),
    "HassSetVolume": frozenset({"media_player"}),
    "HassVacuumStart": frozenset({"vacuum"}),
    "HassVacuumReturnToBase": frozenset({"vacuum"}),
    "ReportProblem": ALL,
}

# Run, never switched back: "turn off movie night" is about the scene (the dialogue says it
# cannot be switched off), not a question about which device is meant
RUN_ONLY = frozenset({"scene", "script"})

# Intents that change a device (reading one changes nothing).
CHANGING = frozenset(INTENT_DOMAINS) - {"HassGetState", "HassClimateGetTemperature", "ReportProblem"}

# When only a room is named ("turn off the kitchen"), the kinds of device meant, best first.
# Locks, garage doors and gates are never chosen this way: they need to be named.
IMPLICIT_PREFERENCE: dict[str, tuple[str, ...]] = {
    "HassTurnOn": ("light", "switch", "fan"),
    "HassTurnOff": ("light", "switch", "fan", "media_player"),
    "HassToggle": ("light", "switch", "fan"),
    "HassClimateGetTemperature": ("climate", "sensor"),
    "HassGetState": ("light", "switch", "fan", "cover", "lock", "media_player", "climate", "vacuum", "sensor", "binary_sensor"),
    "ReportProblem": (
        "light", "switch", "fan", "climate", "lock", "cover", "media_player", "vacuum", "sensor", "binary_sensor",
    ),
}

SYMPTOM_DOMAINS: dict[str, frozenset[str]] = {
    "wont_turn_on": ON_OFF | {"vacuum"},
    "wont_turn_off": ON_OFF | {"vacuum"},
    "turns_off_by_itself": ON_OFF,
    "turns_on_by_itself": ON_OFF | {"cover", "lock"},  # "the garage keeps opening by itself"
    "flickering": frozenset({"light"}),
    "unlock_failed": frozenset({"lock"}),
    "lock_failed": frozenset({"lock"}),
    "wrong_reading": frozenset({"sensor", "binary_sensor", "climate"}),
    "stuck": frozenset({"cover", "lock", "vacuum"}),
    "battery": frozenset({"lock", "sensor", "binary_sensor", "vacuum", "cover"}),
    "leaking": frozenset({"binary_sensor", "switch", "climate"}),
    "tripping": ON_OFF,
    "not_docking": frozenset({"vacuum"}),
    "no_sound": frozenset({"media_player"}),
    "no_picture": frozenset({"media_player"}),
}

# Intents on these kinds carry content the home does not name ("play some jazz", "clean the rug").
CONTENT_DOMAINS = frozenset({"media_player", "vacuum"})

# Sensitive: never picked unless named, called by kind ("the garage door") or carried by context.
SENSITIVE_CLASSES = frozenset({"garage", "gate", "door"})


def is_sensitive(domain: str, device_class: str | None) -> bool:
    return domain == "lock" or (domain == "cover" and device_class in SENSITIVE_CLASSES)
