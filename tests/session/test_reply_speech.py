"""How a reply is cut for speech: first words early, streamed replies sentence by sentence."""

from __future__ import annotations

from voicebot.dialogue.llm.policy import StreamedReply
from voicebot.dialogue.types import Reply
from voicebot.reply_speech import reply_sentences


def test_a_long_first_sentence_is_spoken_clause_first() -> None:
    parts = list(reply_sentences(Reply("Done, the kitchen light is on at 78%. Anything else?")))
    assert parts == ["Done,", "the kitchen light is on at 78%.", "Anything else?"]
    assert list(reply_sentences(Reply("Goodbye."))) == ["Goodbye."]


def test_a_streamed_reply_is_spoken_as_each_sentence_completes() -> None:
    given: list[str] = []

    def tokens():
        for piece in ["The hall", "way light is", " on. It rep", "orted back", " at once. Bye"]:
            given.append(piece)
            yield piece

    reply = StreamedReply(text="", handled_by="llm")
    reply.text_stream = tokens()
    sentences = reply_sentences(reply)
    assert next(sentences) == "The hallway light is on."
    assert len(given) == 3  # the first sentence left before the rest of the answer existed
    assert list(sentences) == ["It reported back at once.", "Bye"]
