"""Spoken feedback from in-home devices: ingestion over MQTT, analysis, storage and reports."""
