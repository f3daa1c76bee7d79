"""Errors an extractor raises when its input is not what the source promises.

Every message names the file, the column or line, and what was expected, so
the person on call can act without opening the code.
"""


class SourceError(Exception):
    """A source file is missing, malformed, or lacks a required column."""


class ConfigError(Exception):
    """The organisation config is invalid; nothing has been written."""
