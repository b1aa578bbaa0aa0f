"""The optional LLM dialogue policy: an OpenAI-compatible endpoint with the engine's own tools."""
