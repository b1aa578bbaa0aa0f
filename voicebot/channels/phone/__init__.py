"""The phone support line: Asterisk AudioSocket and Twilio Media Streams.

Each module does one job: ``audiosocket_wire`` and ``twilio_wire`` read and write the two wire
protocols and nothing else; ``audiosocket`` and ``twilio`` are the servers that turn a connection
into a call's channel (``voicebot.phone`` puts a live session on it); ``pacing`` sends audio out
in real time; ``pool`` shares transcription between concurrent calls; ``calls`` keeps the
registry of calls and serves their outcomes over HTTP.
"""
