"""The agents' console: a web application where support agents and the bot work on the same
customers. The queue of tickets, live conversations from every channel, the bot's suggestions,
stepping into a conversation, and closing the loop (docs/console.md)."""
