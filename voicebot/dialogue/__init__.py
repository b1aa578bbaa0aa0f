"""Dialogue: conversation state, device control, troubleshooting, escalation."""
