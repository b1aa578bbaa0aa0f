"""Device states and changes in words: "on at 40%", "set to 21 degrees", "unlock the front door".

English, German and Spanish; other languages get the English words (their reply files may still
be translated). German and Spanish name a device by its own name, without an article, since the
article depends on the noun's gender; Spanish adjectives take the gender of the device's kind
(``gender_ending``: la luz, la persiana, la cerradura; the rest masculine).
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
    return text.replace(".", ",") if language in ("de", "es") else text


# Spanish kinds of device that are feminine nouns (la luz, la persiana, la cerradura).
_FEMININE_ES = frozenset({DeviceType.LIGHT, DeviceType.COVER, DeviceType.LOCK})


def gender_ending(device: Device, language: str) -> str:
    """The ending an adjective about the device takes ("{o}" in Spanish texts): "a" or "o"."""
    return "a" if language == "es" and device.type in _FEMININE_ES else "o"


# Per language: state words by device type, and phrases with {pct}, {t}, {unit} filled in.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "on": "on", "off": "off", "on_at": "on at {pct}%", "open": "open", "closed": "closed", "opening": "opening",
        "closing": "closing", "pos_open": "{pct}% open", "locked": "locked", "unlocked": "unlocked", "jammed": "jammed",
        "locking": "locking", "unlocking": "unlocking", "climate_off": "switched off", "set_to": "set to {t} degrees",
        "room_at": "the room is at {t} degrees", "reading": "reading {t}{unit}", "unknown": "in an unknown state",
        "playing": "playing", "paused": "paused", "idle": "idle", "at_volume": " at volume {pct}%", "cleaning": "cleaning",
        "docked": "docked", "returning": "returning to its dock", "error": "reporting an error",
        "degrees": " degrees", "percent": " percent", "stopped": "stopped",
        "progress_opening": "opening {label}", "progress_closing": "closing {label}",
        "progress_locking": "locking {label}", "progress_unlocking": "unlocking {label}",
        "progress_moving": "moving {label} to {pos}% open",
    },
    "de": {
        "on": "an", "off": "aus", "on_at": "an mit {pct} % Helligkeit", "open": "offen", "closed": "geschlossen",
        "opening": "dabei, sich zu öffnen", "closing": "dabei, sich zu schließen", "pos_open": "zu {pct} % offen",
        "locked": "abgeschlossen", "unlocked": "aufgeschlossen", "jammed": "blockiert", "locking": "beim Abschließen",
        "unlocking": "beim Aufschließen", "climate_off": "ausgeschaltet", "set_to": "auf {t} Grad eingestellt",
        "room_at": "der Raum hat {t} Grad", "reading": "bei {t}{unit}", "unknown": "in einem unbekannten Zustand",
        "playing": "am Spielen", "paused": "pausiert", "idle": "bereit", "at_volume": " mit Lautstärke {pct} %",
        "cleaning": "am Saugen", "docked": "in der Ladestation", "returning": "auf dem Weg zur Ladestation",
        "error": "mit einer Fehlermeldung", "degrees": " Grad", "percent": " Prozent", "stopped": "angehalten",
        "progress_opening": "{label} wird geöffnet", "progress_closing": "{label} wird geschlossen",
        "progress_locking": "{label} wird abgeschlossen", "progress_unlocking": "{label} wird aufgeschlossen",
        "progress_moving": "{label} fährt auf {pos} % offen",
    },
    # {o}: the adjective's ending for the device's gender (gender_ending)
    "es": {
        "on": "encendid{o}", "off": "apagad{o}", "on_at": "encendid{o} al {pct} %", "open": "abiert{o}",
        "closed": "cerrad{o}", "opening": "abriéndose", "closing": "cerrándose", "pos_open": "abiert{o} al {pct} %",
        "locked": "cerrad{o} con llave", "unlocked": "abiert{o}", "jammed": "atascad{o}", "locking": "cerrándose",
        "unlocking": "abriéndose", "climate_off": "apagad{o}", "set_to": "programad{o} a {t} grados",
        "room_at": "la habitación está a {t} grados", "reading": "marcando {t}{unit}", "unknown": "en un estado desconocido",
        "playing": "reproduciendo", "paused": "en pausa", "idle": "en reposo", "at_volume": " con el volumen al {pct} %",
        "cleaning": "limpiando", "docked": "en su base", "returning": "volviendo a su base", "error": "dando un error",
        "degrees": " grados", "percent": " por ciento", "stopped": "parad{o}",
        "progress_opening": "Abriendo {label}", "progress_closing": "Cerrando {label}",
        "progress_locking": "Cerrando con llave {label}", "progress_unlocking": "Abriendo {label}",
        "progress_moving": "Moviendo {label} hasta el {pos} % de apertura",
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
    "es": {
        "motion": ("detectando movimiento", "sin detectar movimiento"),
        "occupancy": ("detectando a alguien", "sin detectar a nadie"),
        "door": ("abiert{o}", "cerrad{o}"), "window": ("abiert{o}", "cerrad{o}"), "moisture": ("detectando agua", "sec{o}"),
        "smoke": ("detectando humo", "sin alarma"), "gas": ("detectando gas", "sin alarma"),
    },
}


def describe_state(device: Device, state: dict[str, Any], language: str = "en") -> str:
    """How the device is, as the end of a sentence: "the kitchen light is " + this."""
    ending = gender_ending(device, language)
    w = {k: v.replace("{o}", ending) for k, v in WORDS.get(language, WORDS["en"]).items()}
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
        return (words[0] if s == "on" else words[1]).replace("{o}", ending)
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
    in German and Spanish the device's own name."""
    if language in ("de", "es"):
        return device.name
    words = [w if (w.isupper() and len(w) > 1) else w.lower() for w in device.name.split()]
    name = " ".join(words)
    return name if name.startswith(("the ", "my ")) else f"the {name}"


# change: (English infinitive, English past, German infinitive, German participle,
# Spanish present subjunctive after "quiere que", Spanish past "he ...")
VERBS = {
    "unlocked": ("unlock", "unlocked", "aufschließen", "aufgeschlossen", "abra", "abierto"),
    "locked": ("lock", "locked", "abschließen", "abgeschlossen", "cierre con llave", "cerrado con llave"),
    "open": ("open", "opened", "öffnen", "geöffnet", "abra", "abierto"),
    "closed": ("close", "closed", "schließen", "geschlossen", "cierre", "cerrado"),
    "on": ("turn on", "turned on", "einschalten", "eingeschaltet", "encienda", "encendido"),
    "off": ("turn off", "turned off", "ausschalten", "ausgeschaltet", "apague", "apagado"),
    "heat": ("switch on the heating of", "switched on the heating of", "auf Heizen stellen", "auf Heizen gestellt",
             "ponga a calentar", "puesto a calentar"),
    "disarmed": ("disarm", "disarmed", "unscharf schalten", "unscharf geschaltet", "desactive", "desactivado"),
    "cleaning": ("start", "started", "starten", "gestartet", "ponga en marcha", "puesto en marcha"),
    "docked": ("send back to its dock", "sent back to its dock", "zur Ladestation schicken", "zur Ladestation geschickt",
               "mande a su base", "mandado a su base"),
    "paused": ("pause", "paused", "pausieren", "pausiert", "ponga en pausa", "puesto en pausa"),
    "playing": ("resume", "resumed", "fortsetzen", "fortgesetzt", "reanude", "reanudado"),
}


def spoken_change(device: Device, changes: dict[str, Any], past: bool = False, language: str = "en") -> str:
    """ "unlock the front door", "set the kitchen light to 40%" (``past``: "unlocked ...");
    in German "Front Door Lock aufschließen" / "Front Door Lock aufgeschlossen"."""
    de = language == "de"
    if language == "es":
        return _spoken_change_es(device, changes, past)
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
        en, en_past, de_inf, de_past, _es, _es_past = VERBS[state]
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


def _spoken_change_es(device: Device, changes: dict[str, Any], past: bool) -> str:
    """Spanish: "encienda Kitchen Light" (after "¿quiere que ...?") or "he encendido Kitchen Light"."""
    label = device.name
    state = str(changes.get("state", changes.get("hvac_mode", ""))).lower()
    done = "he puesto" if past else "ponga"
    if "brightness" in changes:
        return f"{done} {label} al {round(float(changes['brightness']) * 100 / 255)} %"
    if "temperature" in changes:
        return f"{done} {label} a {number(changes['temperature'], 'es')} grados"
    if "position" in changes:
        return f"{done} {label} abiert{gender_ending(device, 'es')} al {changes['position']} %"
    if "volume_level" in changes:
        return f"{done} el volumen de {label} al {round(float(changes['volume_level']) * 100)} %"
    if state in VERBS:
        *_, es, es_past = VERBS[state]
        return f"he {es_past} {label}" if past else f"{es} {label}"
    return f"he cambiado {label}" if past else f"cambie {label}"


def spoken_progress(device: Device, changes: dict[str, Any], language: str = "en") -> str:
    """A command the device has started but not finished, as a sentence without its full stop:
    "closing the living room blinds", "moving the living room blinds to 40% open"; in German
    "Living Room Blinds wird geschlossen". Only what the device reported: that it is on its way."""
    w = WORDS.get(language, WORDS["en"])
    label = device_label(device, language)
    state = str(changes.get("state", "")).lower()
    if device.type is DeviceType.LOCK:
        return w["progress_locking" if state == "locked" else "progress_unlocking"].format(label=label)
    if "position" in changes and changes["position"] not in (0, 100):
        return w["progress_moving"].format(label=label, pos=number(changes["position"], language))
    opening = state == "open" or changes.get("position") == 100
    return w["progress_opening" if opening else "progress_closing"].format(label=label)
