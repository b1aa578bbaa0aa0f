"""voicebot: a local-first voice support assistant for smart homes."""

__version__ = "0.1.0"
