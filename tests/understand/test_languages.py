"""German and Spanish: device intents through Home Assistant's template sentences, support
intents, problems and safety through our own small rule files; the language is detected."""

from __future__ import annotations

import pytest

from device_bridge.devices import Area, Device, DeviceType
from voicebot.understand import ConversationContext, Understander

AREAS = [Area("Küche", aliases=["cocina"]), Area("Wohnzimmer", aliases=["salón"])]
DEVICES = [
    Device(id="kl", name="Küchenlicht", aliases=["luz de la cocina"], type=DeviceType.LIGHT, area="Küche"),
    Device(id="sl", name="Stehlampe", aliases=["lámpara de pie"], type=DeviceType.LIGHT, area="Wohnzimmer"),
    Device(id="th", name="Thermostat", aliases=["termostato"], type=DeviceType.CLIMATE, area="Wohnzimmer"),
    Device(id="ht", name="Haustür", aliases=["puerta principal"], type=DeviceType.LOCK, area="Wohnzimmer"),
]


@pytest.fixture(scope="module")
def multi() -> Understander:
    nlu = Understander(lambda: DEVICES, lambda: AREAS, language="en", languages=["de", "es"])
    nlu.warm_up()
    return nlu


@pytest.mark.parametrize(
    ("text", "language", "intent", "devices", "slots"),
    [
        ("Schalte das Küchenlicht ein", "de", "HassTurnOn", ["kl"], {"name": "Küchenlicht"}),
        ("Mach das Licht in der Küche aus", "de", "HassTurnOff", ["kl"], {"area": "Küche", "domain": "light"}),
        ("Ist die Haustür abgeschlossen?", "de", "HassGetState", ["ht"], {"state": "locked"}),
        ("Das Küchenlicht geht nicht an", "de", "ReportProblem", ["kl"], {"symptom": "wont_turn_on"}),
        # "luz de la cocina" is the kitchen light's alias: a name wins over the room, as in Home Assistant
        ("Enciende la luz de la cocina", "es", "HassTurnOn", ["kl"], {"name": "Küchenlicht"}),
        ("Pon la lámpara de pie al 50%", "es", "HassLightSet", ["sl"], {"brightness": 50}),
        ("Pon el termostato a 21 grados", "es", "HassClimateSetTemperature", ["th"], {"temperature": 21}),
        ("La luz de la cocina no funciona", "es", "ReportProblem", ["kl"], {"symptom": "not_working"}),
        # English still English, and "kitchen" is the Küche (data/places.yaml)
        ("turn on the kitchen light", "en", "HassTurnOn", ["kl"], {"area": "Küche"}),
    ],
)
def test_device_intents(multi: Understander, text: str, language: str, intent: str, devices: list[str],
                        slots: dict[str, object]) -> None:
    u = multi.understand(text)
    assert (u.language, u.intent) == (language, intent)
    assert u.device_ids == devices
    assert slots.items() <= u.slots.items()


@pytest.mark.parametrize(
    ("text", "language", "intent"),
    [
        ("Ich möchte mit einem Mitarbeiter sprechen", "de", "AskHuman"),
        ("Ja, bitte", "de", "Yes"),
        ("Danke schön", "de", "Thanks"),
        ("Quiero hablar con una persona", "es", "AskHuman"),
        ("Muchas gracias", "es", "Thanks"),
    ],
)
def test_support_intents(multi: Understander, text: str, language: str, intent: str) -> None:
    u = multi.understand(text)
    assert (u.language, u.intent) == (language, intent)


def test_safety_in_other_languages(multi: Understander) -> None:
    assert multi.understand("Ich rieche Gas in der Küche!").slots["safety"] == "gas"
    assert multi.understand("Huele a gas en la cocina").slots["safety"] == "gas"


def test_language_named_by_the_caller_wins(multi: Understander) -> None:
    assert multi.understand("Hallo", language="de").intent == "Greeting"
    assert multi.understand("Hola", language="es").language == "es"


def test_out_of_scope_template_intents_are_not_understood(multi: Understander) -> None:
    u = multi.understand("Wie ist das Wetter?")
    assert u.intent is None and u.device_ids == []


def test_follow_ups_in_german_and_spanish(multi: Understander) -> None:
    from voicebot.understand import ConversationContext

    ctx = ConversationContext()
    ctx.update(multi.understand("Schalte das Küchenlicht ein", ctx))
    u = multi.understand("Schalte es wieder aus", ctx)
    assert (u.language, u.intent, u.device_ids) == ("de", "HassTurnOff", ["kl"])
    ctx = ConversationContext()
    ctx.update(multi.understand("Enciende la lámpara de pie", ctx))
    u = multi.understand("Apágala", ctx, language="es")
    assert (u.intent, u.device_ids) == ("HassTurnOff", ["sl"])


def test_what_about_another_room_in_german_and_spanish(multi: Understander) -> None:
    from voicebot.understand import ConversationContext

    for first, then in (("Schalte das Licht in der Küche aus", "Und im Wohnzimmer?"),
                        ("Apaga la luz de la cocina", "y en el salón")):
        ctx = ConversationContext()
        ctx.update(multi.understand(first, ctx))
        u = multi.understand(then, ctx)
        assert (u.intent, u.device_ids) == ("HassTurnOff", ["sl"]), then


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("bist du ein Roboter", "AskIfBot"),
        ("Bist du eine KI?", "AskIfBot"),
        ("rede ich mit einem Menschen", "AskIfBot"),
        ("Spreche ich gerade mit einem Menschen?", "AskIfBot"),
        ("ich möchte mit einem Menschen sprechen", "AskHuman"),
        ("Einen Mitarbeiter bitte.", "AskHuman"),
        ("ich brauche einen Techniker", "AskHuman"),
        ("Verbinden Sie mich mit einem Mitarbeiter", "AskHuman"),
    ],
)
def test_german_who_am_i_talking_to(multi: Understander, text: str, intent: str) -> None:
    u = multi.understand(text)
    assert (u.language, u.intent) == ("de", intent)
    assert u.device_ids == []


@pytest.mark.parametrize("text", ["erledigt", "Fertig.", "gemacht", "hab ich gemacht", "ist erledigt", "schon erledigt"])
@pytest.mark.parametrize("language", [None, "de"])
def test_german_done_answers_yes(multi: Understander, text: str, language: str | None) -> None:
    """"Tell me when you have unplugged it" - "erledigt": detected as German even alone."""
    ctx = ConversationContext()
    ctx.ask_yes_no(topic="unplugged")
    u = multi.understand(text, ctx, language=language)
    assert (u.language, u.intent) == ("de", "Yes")


@pytest.mark.parametrize("text", ["done", "all done", "finished", "I've done that", "ok done"])
def test_english_done_answers_yes(multi: Understander, text: str) -> None:
    ctx = ConversationContext()
    ctx.ask_yes_no(topic="unplugged")
    assert multi.understand(text, ctx).intent == "Yes"


@pytest.mark.parametrize(
    ("text", "kind"),
    [("es kommt Rauch aus dem Toaster", "smoke"), ("ich rieche Gas", "gas"), ("Wasser überall im Keller", "water_leak"),
     ("der Keller ist überflutet", "water_leak"), ("Funken aus der Steckdose", "fire"), ("es riecht verbrannt", "fire")],
)
def test_german_emergencies(multi: Understander, text: str, kind: str) -> None:
    u = multi.understand(text)
    assert (u.language, u.intent, u.slots.get("safety")) == ("de", "ReportProblem", kind)


def test_german_no_sound_is_a_report(multi: Understander) -> None:
    ctx = ConversationContext()
    ctx.ask_yes_no(topic="did_that_fix_it")
    u = multi.understand("kein Ton aus dem Lautsprecher", ctx)
    assert (u.language, u.intent, u.slots.get("symptom")) == ("de", "ReportProblem", "no_sound")


@pytest.mark.parametrize(("text", "language"), [
    ("Schalte bitte das Licht in der Küche ein", "de"),
    ("enciende la luz de la cocina", "es"),
    ("turn on the kitchen light", "en"),
])
def test_rooms_are_understood_across_languages(text: str, language: str) -> None:
    """A home named in English: its Kitchen is "Küche" and "cocina" too."""
    areas = [Area("Kitchen"), Area("Living Room")]
    devices = [Device(id="k", name="Ceiling Light", type=DeviceType.LIGHT, area="Kitchen"),
               Device(id="l", name="Floor Lamp", type=DeviceType.LIGHT, area="Living Room")]
    nlu = Understander(lambda: devices, lambda: areas, language="en", languages=["de", "es"])
    u = nlu.understand(text)
    assert (u.language, u.intent, u.device_ids) == (language, "HassTurnOn", ["k"])
    assert u.slots.get("area") == "Kitchen"


def test_per_language_aliases_in_the_home_file() -> None:
    from device_bridge.home import load_home

    home = load_home({"areas": [{"name": "Den", "aliases": {"de": ["Hobbyraum"], "es": ["cuarto de estar"]}}],
                      "devices": [{"name": "Lamp", "type": "light", "area": "Den"}]})
    devices, areas = [hd.device for hd in home.devices], list(home.areas)
    nlu = Understander(lambda: devices, lambda: areas, language="en", languages=["de", "es"])
    u = nlu.understand("Schalte das Licht im Hobbyraum ein")
    assert (u.language, u.device_ids) == ("de", ["lamp"])



def test_word_lists_keep_yes_no_on_off_as_words() -> None:
    """YAML 1.1 reads yes/no/on/off as booleans; in a list of words they are words. Spanish
    "no" is a negation (sentiment: "no funciona bien" is no praise), English "off" and "yes"
    count as English, "on"/"off" as media verbs."""
    from voicebot.understand.vocabulary import DATA, load

    en, es = load("en", DATA), load("es", DATA)
    assert {"off", "yes"} <= en.markers and {"on", "off"} <= en.media_verbs
    assert "no" in es.markers and "no" in es.negations
    for lang in ("en", "de", "es"):
        vocab = load(lang, DATA)
        for words in (vocab.markers, vocab.negations, vocab.media_verbs, vocab.neutral, vocab.appliances):
            assert not {"True", "False"} & words, (lang, sorted(words)[:5])
