"""The one error every speech model loader raises, in a module of its own: the loaders
(``speak``, ``transcribe``) and the model resolver (``models``) all need it, and the resolver
imports the loaders."""


class ModelError(RuntimeError):
    """A model that is missing or unusable; the message says what to install or fix."""
