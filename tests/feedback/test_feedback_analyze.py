"""What a feedback text is about, how the person feels and how urgent it is."""

from __future__ import annotations

from voicebot.feedback.analyze import analyze_text


def test_safety_words_make_a_clip_critical() -> None:
    a = analyze_text("My heater is sparking and I can smell burning plastic.")
    assert a.urgency == "critical"
    assert "burning" in a.urgency_reasons
    assert "thermostat" in a.topics.devices
    assert "worry" in a.emotions
    assert a.is_fault


def test_returning_a_broken_device_is_high_urgency_and_negative() -> None:
    a = analyze_text("The doorbell stopped working after two days, I'm returning it. Really disappointed.")
    assert a.urgency == "high"
    assert {"stopped working", "returning it"} <= set(a.urgency_reasons)
    assert a.topics.devices == ["doorbell"] and "not_working" in a.topics.problems
    assert a.label == "negative"
    assert "disappointment" in a.emotions


def test_praise_is_positive_and_not_a_fault() -> None:
    a = analyze_text("I love the new speaker, the sound is great and setup was easy. Thank you!")
    assert a.label == "positive" and a.sentiment > 0.5
    assert {"satisfaction", "gratitude"} <= set(a.emotions)
    assert "anger" not in a.emotions and "frustration" not in a.emotions
    assert a.urgency == "normal" and not a.is_fault
    assert "speaker" in a.topics.devices and {"sound", "setup"} <= set(a.topics.features)


def test_confusion_and_frustration() -> None:
    confused = analyze_text("I don't understand how to set a schedule in the app, the instructions are confusing.")
    assert "confusion" in confused.emotions
    assert "app" in confused.topics.devices and "schedule" in confused.topics.features
    angry = analyze_text("The plug keeps disconnecting from the wifi. This is ridiculous, I'm so frustrated.")
    assert {"frustration", "anger"} <= set(angry.emotions)
    assert "offline" in angry.topics.problems and "connectivity" in angry.topics.features
    assert angry.label == "negative"


def test_firmware_regressions_are_recognised() -> None:
    a = analyze_text("Since the update the lights are slow and the app crashes all the time.")
    assert {"update_failed", "slow", "app_crash"} <= set(a.topics.problems)
    assert "firmware" in a.topics.features and "light" in a.topics.devices
