"""The ``webchat`` section of the configuration (``VOICEBOT_WEBCHAT__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WebChatSettings(BaseModel):
    """The customer web chat: where it listens, how links are signed, what one client may do."""

    http: str = "127.0.0.1:9095"  # HOST:PORT of the page and its WebSocket; loopback by default
    # Links are signed with this secret (HMAC-SHA256 through itsdangerous). Without one, a secret
    # is generated into DATA_DIR/webchat-secret (mode 0600) on first use. Changing it voids every link.
    secret: str | None = None
    secret_file: str | None = None  # a file holding the secret (systemd credentials); default DATA_DIR/webchat-secret
    # The address customers open, as it looks from outside (behind a TLS proxy, https://chat.example.com/).
    # Links printed by `voicebot webchat link` start with it; default: http://<http>/.
    public_url: str | None = None
    link_ttl_s: float = Field(7 * 24 * 3600.0, gt=0)  # how long a new link opens the chat
    max_link_ttl_s: float = Field(90 * 24 * 3600.0, gt=0)  # the longest --ttl accepted
    # A link opens the chat once: the page gets a session in exchange and keeps it (the browser's
    # localStorage) for reloads and reconnects; the link itself then opens nothing.
    single_use_links: bool = True
    session_ttl_s: float = Field(12 * 3600.0, gt=0)  # how long such a session lasts
    # Hostile or broken clients: each limit answers that client alone with a clear error.
    max_message_chars: int = Field(2000, ge=10)  # one customer message
    max_frame_bytes: int = Field(16_384, ge=1024)  # one WebSocket message; larger closes the socket (1009)
    messages_per_minute: float = Field(30.0, gt=0)  # sustained rate per connection
    burst: int = Field(5, ge=1)  # messages allowed back to back before the rate applies
    max_flood_errors: int = Field(10, ge=1)  # "too fast" answers before the socket is closed (1008)
    hello_timeout_s: float = Field(10.0, gt=0)  # a client must present its link within this
    idle_timeout_s: float = Field(30 * 60.0, gt=0)  # a chat with no message this long is ended
    max_connections: int = Field(200, ge=1)  # chats open at once over all customers
    max_connections_per_customer: int = Field(3, ge=1)
    # A page reloaded or a dropped connection within this time continues the same conversation.
    resume_s: float = Field(600.0, ge=0)
    dialogue_threads: int = Field(8, ge=1)  # dialogue turns handled at once (they wait on devices)
    # Origins (scheme://host[:port]) a browser may open the WebSocket from; empty: any (the link
    # authenticates; set this when the page is served from a known address).
    allowed_origins: list[str] = Field(default_factory=list)
