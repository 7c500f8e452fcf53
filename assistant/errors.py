"""The assistant's errors: one base class, one subclass per condition a caller can handle."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class for every error the assistant package raises on purpose."""


class DataNotFoundError(AssistantError):
    """A data folder or file the caller pointed at is missing or unreadable."""


class DataFormatError(AssistantError):
    """A data file exists but does not follow the format it should (e.g. a malformed bAbI line)."""


class CheckpointError(AssistantError):
    """A checkpoint is missing, unreadable, or written in a format version this code cannot load."""


class ConfigError(AssistantError):
    """A configuration value is out of range or inconsistent (e.g. an unknown bAbI task number)."""
