"""Harnesses for tests, benchmarks and the demo, kept out of the product's stages.

- ``scenario``: scripted customer conversations against a simulated home (format and runner)
- ``mqtt_tap``: every MQTT message on a broker, in memory and optionally in a JSON-lines file
- ``ha_wyoming``: Home Assistant's Wyoming client side (describe, speech to text, text to speech,
  conversation), for ``voicebot wyoming``
"""
