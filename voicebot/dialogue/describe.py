"""Device states and changes in words: "on at 40%", "set to 21 degrees", "unlock the front door".

English and German; other languages get the English words (their reply files may still be
translated). German names a device by its own name, without an article, since the article
depends on the noun's gender.
"""

from __future__ import annotations

from typing import Any

from device_bridge.devices import Device, DeviceType


def percent(brightness: Any) -> int | None:
    """Home Assistant brightness 0-255 as a whole percent."""
    try:
        return round(float(brightness) * 100 / 255)
    except (TypeError, ValueError):
        return None


def number(value: Any, language: str = "en") -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{f:g}" if abs(f - round(f)) > 1e-9 else str(round(f))
    return text.replace(".", ",") if language == "de" else text


# Per language: state words by device type, and phrases with {pct}, {t}, {unit} filled in.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "on": "on", "off": "off", "on_at": "on at {pct}%", "open": "open", "closed": "closed", "opening": "opening",
        "closing": "closing", "pos_open": "{pct}% open", "locked": "locked", "unlocked": "unlocked", "jammed": "jammed",
        "locking": "locking", "unlocking": "unlocking", "climate_off": "switched off", "set_to": "set to {t} degrees",
        "room_at": "the room is at {t} degrees", "reading": "reading {t}{unit}", "unknown": "in an unknown state",
        "playing": "playing", "paused": "paused", "idle": "idle", "at_volume": " at volume {pct}%", "cleaning": "cleaning",
        "docked": "docked", "returning": "returning to its dock", "error": "reporting an error",
        "degrees": " degrees", "percent": " percent",
    },
    "de": {
        "on": "an", "off": "aus", "on_at": "an mit {pct} % Helligkeit", "open": "offen", "closed": "geschlossen",
        "opening": "dabei, sich zu öffnen", "closing": "dabei, sich zu schließen", "pos_open": "zu {pct} % offen",
        "locked": "abgeschlossen", "unlocked": "aufgeschlossen", "jammed": "blockiert", "locking": "beim Abschließen",
        "unlocking": "beim Aufschließen", "climate_off": "ausgeschaltet", "set_to": "auf {t} Grad eingestellt",
        "room_at": "der Raum hat {t} Grad", "reading": "bei {t}{unit}", "unknown": "in einem unbekannten Zustand",
        "playing": "am Spielen", "paused": "pausiert", "idle": "bereit", "at_volume": " mit Lautstärke {pct} %",
        "cleaning": "am Saugen", "docked": "in der Ladestation", "returning": "auf dem Weg zur Ladestation",
        "error": "mit einer Fehlermeldung", "degrees": " Grad", "percent": " Prozent",
    },
}
BINARY: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "motion": ("detecting motion", "not detecting motion"), "occupancy": ("detecting someone", "not detecting anyone"),
        "door": ("open", "closed"), "window": ("open", "closed"), "moisture": ("detecting water", "dry"),
        "smoke": ("detecting smoke", "clear"), "gas": ("detecting gas", "clear"),
    },
    "de": {
        "motion": ("meldet Bewegung", "meldet keine Bewegung"), "occupancy": ("meldet Anwesenheit", "meldet niemanden"),
        "door": ("offen", "geschlossen"), "window": ("offen", "geschlossen"), "moisture": ("meldet Wasser", "trocken"),
        "smoke": ("meldet Rauch", "ruhig"), "gas": ("meldet Gas", "ruhig"),
    },
}


def describe_state(device: Device, state: dict[str, Any], language: str = "en") -> str:
    """How the device is, as the end of a sentence: "the kitchen light is " + this."""
    w = WORDS.get(language, WORDS["en"])
    s = str(state.get("state", "")).lower()
    unknown = w["unknown"]

    def known(word: str) -> str:
        return w.get(word, word) if word not in ("", "none", "unknown", "unavailable") else unknown

    t = device.type
    if t is DeviceType.LIGHT:
        if s == "on":
            pct = percent(state.get("brightness"))
            return w["on_at"].format(pct=pct) if pct is not None else w["on"]
        return w["off"] if s == "off" else known(s)
    if t in (DeviceType.SWITCH, DeviceType.FAN):
        return known(s)
    if t is DeviceType.COVER:
        pos = state.get("current_position")
        if s in ("opening", "closing"):
            return w[s]
        if pos is not None and pos not in (0, 100):
            return w["pos_open"].format(pct=number(pos, language))
        return known(s)
    if t is DeviceType.LOCK:
        return known(s)
    if t is DeviceType.CLIMATE:
        parts = []
        if state.get("hvac_mode") == "off":
            parts.append(w["climate_off"])
        elif state.get("temperature") is not None:
            parts.append(w["set_to"].format(t=number(state["temperature"], language)))
        if state.get("current_temperature") is not None:
            parts.append(w["room_at"].format(t=number(state["current_temperature"], language)))
        return ", ".join(parts) or unknown
    if t is DeviceType.SENSOR:
        if s in ("", "none", "unknown", "unavailable"):
            return unknown
        unit = device.unit or ""
        spoken = {"°C": w["degrees"], "°F": w["degrees"] + " Fahrenheit", "%": w["percent"]}.get(unit, f" {unit}" if unit else "")
        return w["reading"].format(t=number(state.get("state"), language), unit=spoken)
    if t is DeviceType.BINARY_SENSOR:
        words = BINARY.get(language, BINARY["en"]).get(device.device_class or "", (w["on"], w["off"]))
        return words[0] if s == "on" else words[1]
    if t is DeviceType.MEDIA_PLAYER:
        out = known(s)
        vol = state.get("volume_level")
        if vol is not None and s != "off":
            out += w["at_volume"].format(pct=round(float(vol) * 100))
        return out
    if t is DeviceType.VACUUM:
        return known(s)
    return known(s)


def device_label(device: Device, language: str = "en") -> str:
    """The name as said in a sentence: "the kitchen light" (acronyms such as TV stay as they are);
    in German the device's own name."""
    if language == "de":
        return device.name
    words = [w if (w.isupper() and len(w) > 1) else w.lower() for w in device.name.split()]
    name = " ".join(words)
    return name if name.startswith(("the ", "my ")) else f"the {name}"


# change: (English infinitive, English past, German infinitive, German participle)
VERBS = {
    "unlocked": ("unlock", "unlocked", "aufschließen", "aufgeschlossen"),
    "locked": ("lock", "locked", "abschließen", "abgeschlossen"),
    "open": ("open", "opened", "öffnen", "geöffnet"),
    "closed": ("close", "closed", "schließen", "geschlossen"),
    "on": ("turn on", "turned on", "einschalten", "eingeschaltet"),
    "off": ("turn off", "turned off", "ausschalten", "ausgeschaltet"),
    "heat": ("switch on the heating of", "switched on the heating of", "auf Heizen stellen", "auf Heizen gestellt"),
    "disarmed": ("disarm", "disarmed", "unscharf schalten", "unscharf geschaltet"),
    "cleaning": ("start", "started", "starten", "gestartet"),
    "docked": ("send back to its dock", "sent back to its dock", "zur Ladestation schicken", "zur Ladestation geschickt"),
    "paused": ("pause", "paused", "pausieren", "pausiert"),
    "playing": ("resume", "resumed", "fortsetzen", "fortgesetzt"),
}


def spoken_change(device: Device, changes: dict[str, Any], past: bool = False, language: str = "en") -> str:
    """ "unlock the front door", "set the kitchen light to 40%" (``past``: "unlocked ...");
    in German "Front Door Lock aufschließen" / "Front Door Lock aufgeschlossen"."""
    de = language == "de"
    label = device_label(device, language)
    state = str(changes.get("state", changes.get("hvac_mode", ""))).lower()

    def set_to(what: str) -> str:
        if de:
            return f"{label} auf {what} {'gestellt' if past else 'stellen'}"
        return f"set {label} to {what}"

    if "brightness" in changes:
        return set_to(f"{round(float(changes['brightness']) * 100 / 255)} %" if de else f"{round(float(changes['brightness']) * 100 / 255)}%")
    if "temperature" in changes:
        return set_to(f"{number(changes['temperature'], language)} {'Grad' if de else 'degrees'}")
    if "position" in changes:
        return set_to(f"{changes['position']} % offen" if de else f"{changes['position']}% open")
    if "volume_level" in changes:
        vol = round(float(changes["volume_level"]) * 100)
        return f"die Lautstärke von {label} auf {vol} % {'gestellt' if past else 'stellen'}" if de else f"set the volume of {label} to {vol}%"
    if state in VERBS:
        en, en_past, de_inf, de_past = VERBS[state]
        if de:
            return f"{label} {de_past if past else de_inf}"
        verb = en_past if past else en
        if state == "docked":  # "send the vacuum back to its dock"
            head, tail = verb.split(" ", 1)
            return f"{head} {label} {tail}"
        return f"{verb} {label}"
    if de:
        return f"{label} {'verändert' if past else 'verändern'}"
    return f"{'changed' if past else 'change'} {label}"


def spoken_progress(device: Device, changes: dict[str, Any], language: str = "en") -> str:
    """A command the device has started but not finished, as a sentence without its full stop:
    "closing the living room blinds", "moving the living room blinds to 40% open"; in German
    "Living Room Blinds wird geschlossen". Only what the device reported: that it is on its way."""
    de = language == "de"
    label = device_label(device, language)
    state = str(changes.get("state", "")).lower()
    if "position" in changes and changes["position"] not in (0, 100):
        pos = changes["position"]
        return f"{label} fährt auf {pos} % offen" if de else f"moving {label} to {pos}% open"
    opening = state == "open" or changes.get("position") == 100
    if de:
        return f"{label} wird {'geöffnet' if opening else 'geschlossen'}"
    return f"{'opening' if opening else 'closing'} {label}"
