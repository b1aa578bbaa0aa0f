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
