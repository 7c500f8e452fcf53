"""memchat's short-term memory and generation: the memory-network reader, the LSTM generator, the assistant.

`from assistant import Assistant` works, but lazily (PEP 562): importing the package does not import
torch, so commands that need no model (`memchat facts`, `memchat add`) start fast.
"""

from __future__ import annotations

_LAZY = {"Assistant", "AssistantConfig", "Reply", "Recalled"}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        from . import assistant

        return getattr(assistant, name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
