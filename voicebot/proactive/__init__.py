"""Proactive support: findings from the home's own telemetry, and contacting the customer about them.

``watcher`` follows every device through the device bridge and evaluates the rules (``rules.yaml``,
data); ``contacts`` turns a new finding into a ticket and a contact on ``voicebot/support/contact``
(dedupe, rate limit, quiet hours, opt-outs); ``opening`` lets the next conversation start from it;
``announce`` lets a running smart speaker say it at the next quiet moment. docs/proactive.md.
"""
