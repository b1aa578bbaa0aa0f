"""A Zigbee2MQTT device listing of the wrong shape says nothing about which devices exist:
it is ignored (logged once), never read as "every device is gone"."""

from __future__ import annotations

import logging

from tests.device_bridge.conftest import publish
from tests.waiting import until

LIGHT = {"ieee_address": "0x000b57fffec6a5b2", "type": "Router", "friendly_name": "kitchen/light",
         "definition": {"model": "LED1545G12", "vendor": "IKEA", "exposes": [{"type": "light", "features": [
             {"type": "binary", "name": "state", "property": "state", "access": 7,
              "value_on": "ON", "value_off": "OFF"}]}]}}
COORDINATOR = {"ieee_address": "0x00124b0000000001", "type": "Coordinator", "friendly_name": "Coordinator",
               "definition": None}


def test_a_listing_of_the_wrong_shape_keeps_every_device_and_is_logged_once(bridge, peer, caplog) -> None:
    publish(peer, "zigbee2mqtt/bridge/devices", [COORDINATOR, LIGHT])
    assert bridge.wait_for(lambda b: b.registry.get("0x000b57fffec6a5b2") is not None, 10)
    with caplog.at_level(logging.WARNING):
        for bad in ([1, 2, 3], [1, 2, 3], [COORDINATOR, {"friendly_name": "no address"}], {"devices": []}):
            publish(peer, "zigbee2mqtt/bridge/devices", bad, retain=False)
        assert until(lambda: caplog.text.count("ignored zigbee2mqtt/bridge/devices") >= 3, 10), caplog.text
        # the bulb is still there and still obeys
        assert bridge.registry.get("0x000b57fffec6a5b2") is not None
    assert caplog.text.count("element 0 is int, not an object") == 1  # the same bad listing twice: one line
    assert "not a JSON array but dict" in caplog.text
    # a real listing is still honoured afterwards: the bulb leaves
    publish(peer, "zigbee2mqtt/bridge/devices", [COORDINATOR])
    assert bridge.wait_for(lambda b: b.registry.get("0x000b57fffec6a5b2") is None, 10)
