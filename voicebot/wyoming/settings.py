"""The ``wyoming`` section of the configuration (``VOICEBOT_WYOMING__*``)."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, Field, field_validator


class WyomingSettings(BaseModel):
    """How ``voicebot wyoming`` serves Home Assistant. Limits bound what one client can make it do."""

    uri: str = "tcp://127.0.0.1:10300"  # Wyoming carries no credentials: loopback unless trusted
    # Off loopback, only these networks may connect (Home Assistant, the satellites), e.g.
    # ["192.168.1.0/24"]; without any, a listener off loopback is refused at start.
    peers: list[str] = Field(default_factory=list)
    zeroconf: bool = True  # advertise _wyoming._tcp.local. so Home Assistant discovers the service
    zeroconf_name: str | None = None  # the advertised instance name; default: voicebot-<hostname>
    zeroconf_host: str | None = None  # the address advertised; default: the listener's, or the LAN one
    # Bad or hostile input: each limit ends only the offending connection, with a log line.
    max_header_bytes: int = Field(65_536, ge=1_024)  # one JSON header line
    max_data_bytes: int = Field(1_048_576, ge=1_024)  # one event's separate JSON data block
    max_payload_bytes: int = Field(4_194_304, ge=4_096)  # one event's binary payload (an audio chunk)
    max_audio_s: float = Field(60.0, gt=0)  # audio in one transcription, at the client's rate
    # and its bytes, whatever the format: 60 s of 48 kHz stereo 32-bit audio is 23 MB
    max_audio_bytes: int = Field(33_554_432, ge=65_536)
    max_text_chars: int = Field(20_000, ge=100)  # text in one synthesis or one conversation turn
    idle_timeout_s: float = Field(120.0, gt=0)  # a connection silent this long is closed
    max_connections: int = Field(64, ge=1)  # connections served at once; more are refused with an error
    # Conversations: Home Assistant sends its conversation id with every turn; the dialogue state
    # behind it lives this long after the last turn, and at most this many at once (oldest dropped).
    conversation_idle_s: float = Field(300.0, gt=0)
    max_conversations: int = Field(1_000, ge=1)
    # The room a satellite stands in ("the light" means the one there). Keys are Home Assistant's
    # satellite or device ids; without an entry, an area whose name appears in the id is used.
    satellite_areas: dict[str, str] = Field(default_factory=dict)
    customer_id: str | None = None  # the household's customer profile, for tickets and its language
    # Work shared by every connection: transcriptions run one (or ``transcribe_workers``) at a
    # time from one queue, sentences are synthesized at most ``synthesis_slots`` at once.
    transcribe_workers: int = Field(1, ge=1)
    # Transcribe 16 kHz audio when the speech pauses, before audio-stop (the endpointer of the
    # ``listen`` section decides); the answer is then ready when audio-stop comes.
    speculate: bool = True
    synthesis_slots: int = Field(1, ge=1)

    @field_validator("peers")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for v in value:
            try:
                ipaddress.ip_network(v, strict=False)
            except ValueError as exc:
                raise ValueError(f"{v!r} is not a network or address ({exc})") from None
        return value

    def peer_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(v, strict=False) for v in self.peers]
