"""Channels: where audio comes from and goes to (speaker, phone, feedback clips, files).

A live channel is an ``AudioChannel`` (:mod:`voicebot.frames`): it converts what it captures to the
pipeline's format at its edge and yields ``InFrame``s, and plays reply audio at its own ``rate``.
Channels import the frame types, never the session that wires them.
"""
