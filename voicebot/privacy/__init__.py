"""Personal data handling: redaction of stored text."""
