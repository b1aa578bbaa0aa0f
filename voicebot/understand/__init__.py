"""Understanding: text → intent, slots, devices, sentiment."""
