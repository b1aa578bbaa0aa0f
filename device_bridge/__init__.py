"""device_bridge: the only part of voicebot that speaks MQTT to devices."""
