"""A support agent stepping into a web chat from the agents' console (voicebot.live).

Each chat registers an :class:`AgentSide` with the process's live link, so the console sees the
conversation as it happens and may take it over: the customer is told a person joined, the
agent's typed messages appear in the chat, the bot stays quiet (the customer's messages go to the
agent) until the agent hands back, and the agent may end the chat. What the agent and the
customer write meanwhile is stored as the conversation's turns (``handled_by`` ``agent:<name>``,
by voicebot.live); the console records who did what.

The console's commands arrive on the chat's event loop (LiveWatch hands them over), so these
methods only note and queue messages; sending is done by the chat's own tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class AgentSide:
    """The chat as the console's live link sees it (a typed voicebot.live.LiveSession)."""

    typed = True  # the agent's words are shown in the chat, not spoken

    def __init__(self, chat: Any, broadcast: Callable[[Any, dict[str, Any]], None],
                 end: Callable[[Any], None]) -> None:
        self.chat = chat  # voicebot.webchat.app.Chat
        self._broadcast = broadcast  # (chat, message): to every window the chat is open in
        self._end = end  # (chat): the agent ended it

    def hold_bot(self) -> None:
        """Nothing to cut short: a reply already written has been sent; the next message goes to the agent."""

    def agent_joined(self, agent: str) -> None:
        self.chat.agent = agent
        self.chat.note("notice", f"{agent} joined", agent=agent)
        self._broadcast(self.chat, {"type": "agent_joined", "agent": agent})

    def agent_says(self, text: str, language: str) -> None:
        agent = self.chat.agent or "agent"
        self.chat.note("agent", text, agent=agent)
        self._broadcast(self.chat, {"type": "agent", "agent": agent, "text": text, "language": language})

    def agent_left(self, agent: str) -> None:
        self.chat.agent = None
        self.chat.note("notice", f"{agent} left", agent=agent)
        self._broadcast(self.chat, {"type": "agent_left", "agent": agent})

    def end_by_agent(self) -> None:
        self._end(self.chat)
