"""One customer across every channel.

    identity.py    (kind, value) → customer: caller number, speaker HOME/DEVICE, Home Assistant
                   satellite id, web chat login; ``identify(store, kind, value)`` for every channel
    threads.py     where the customer's last conversation left off (devices, open problem, language)
    continuity.py  ``follow_customer``: a new conversation continues that thread and opens with it
    tables.py      their tables on the store's database (voicebot.database.METADATA)
    settings.py    the ``customers`` configuration section
"""

from voicebot.customers.continuity import follow_customer
from voicebot.customers.identity import IdentityBook, IdentityError, identify

__all__ = ["IdentityBook", "IdentityError", "follow_customer", "identify"]
