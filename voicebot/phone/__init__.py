"""The phone support line as a service: a live session per call over the phone channels.

``service`` starts the AudioSocket and Twilio servers (``voicebot.channels.phone``), the shared
transcription and synthesis pools and the HTTP outcome endpoint; ``call`` runs one call, the live
session (``voicebot.session``) over the call's channel plus DTMF and the outcome; ``dial`` places a
test call to a running line (``voicebot phone dial``). The channels know nothing of sessions.
"""
