"""The LLM tests' fixtures live in llm_support.py; pytest finds them through this import."""

from llm_support import home, llama_server, llm_home, peer, store

__all__ = ["home", "llama_server", "llm_home", "peer", "store"]
