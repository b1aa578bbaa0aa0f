"""voicebot as a Wyoming service (Home Assistant's voice protocol): speech to text, text to
speech and the conversation agent on one port, advertised over zeroconf.

    server.py        the listener and one connection's event loop (limits, logging)
    wire.py          reading events with limits; typed errors for bad input
    stt.py           transcribe / audio → transcript (streaming transcript events too)
    tts.py           synthesize (and synthesize-start/-chunk/-stop) → audio per sentence
    handle.py        transcript with context → handled / not-handled
    conversations.py conversation ids → dialogue conversations; the satellite's room
    info.py          describe → info
    discovery.py     zeroconf advertisement of ``_wyoming._tcp.local.``
    settings.py      the ``wyoming`` configuration section
"""
