"""Channels: where audio comes from and goes to (speaker, phone, feedback clips, files)."""
