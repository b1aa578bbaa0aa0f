"""How the customer feels, per turn and over the conversation."""

from __future__ import annotations

from voicebot.understand import FrustrationTracker, Understander, analyze


def test_labels() -> None:
    assert analyze("Thank you so much, that was really helpful!").label == "positive"
    assert analyze("This is useless, it's broken again!").label == "negative"
    assert analyze("turn on the kitchen light").label == "neutral"
    assert analyze("").label == "neutral"


def test_emotions() -> None:
    assert "anger" in analyze("This is ridiculous, your product is rubbish").emotions
    assert "frustration" in analyze("I already told you, it still doesn't work").emotions
    assert "satisfaction" in analyze("great, it works now, thanks").emotions
    assert "confusion" in analyze("I don't understand what you mean").emotions
    assert "anxiety" in analyze("I'm really worried, please help quickly").emotions


def test_frustration_rises_with_sustained_complaints_not_one_remark() -> None:
    tracker = FrustrationTracker()
    tracker.update(analyze("ugh, the light is off again"))
    assert not tracker.frustrated
    tracker.update(analyze("I already told you, it still doesn't work!"), understood=False)
    tracker.update(analyze("this is ridiculous, how many times do I have to say it"), understood=False)
    assert tracker.frustrated


def test_frustration_falls_when_things_go_well() -> None:
    tracker = FrustrationTracker()
    for text in ("this is useless", "still broken, seriously", "I'm fed up"):
        tracker.update(analyze(text))
    assert tracker.frustrated
    tracker.update(analyze("oh great, it works now, thank you"))
    tracker.update(analyze("perfect, thanks"))
    assert not tracker.frustrated


def test_every_understanding_carries_sentiment(nlu: Understander) -> None:
    u = nlu.understand("my stupid kitchen light won't come on AGAIN")
    assert u.sentiment is not None
    assert u.sentiment.label == "negative"
    assert {"anger", "frustration"} & set(u.sentiment.emotions)


def test_german_and_spanish_are_scored_in_their_own_words() -> None:
    # VADER's English lexicon read "die" (the German article) as death: every plain German
    # command came out negative and a few of them in a row escalated as frustration
    for text in ("schalte die Stehlampe aus", "mach die Rollläden auf", "wie warm ist es in der Küche"):
        assert analyze(text, "de").label == "neutral", text
    assert analyze("danke, das war super!", "de").label == "positive"
    assert analyze("das ist wirklich schlecht", "de").label == "negative"
    assert analyze("das ist nicht gut", "de").label == "negative"  # negation flips
    assert analyze("die Lampe geht schon wieder nicht, das nervt", "de").compound < -0.3  # not flipped across the comma
    assert analyze("enciende la luz de la cocina", "es").label == "neutral"
    assert analyze("gracias, perfecto", "es").label == "positive"
    assert analyze("esto es terrible, no funciona", "es").label == "negative"


def test_plain_german_commands_do_not_build_up_frustration() -> None:
    tracker = FrustrationTracker()
    for text in ("schalte die Lampe an", "stell die Heizung auf 21 Grad", "mach die Tür zu", "schalte die Lampe aus"):
        tracker.update(analyze(text, "de"))
    assert tracker.level == 0.0
