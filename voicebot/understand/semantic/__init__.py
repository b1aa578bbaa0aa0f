"""The learned understanding layer: nearest labelled phrasings for what the rules miss."""

from voicebot.understand.semantic.examples import NONE, Example
from voicebot.understand.semantic.index import Neighbours, SemanticIndex
from voicebot.understand.semantic.layer import MAYBE, SURE, Guess, SemanticLayer, default_layer

__all__ = ["MAYBE", "NONE", "SURE", "Example", "Guess", "Neighbours", "SemanticIndex", "SemanticLayer", "default_layer"]
