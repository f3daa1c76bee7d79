"""Errors an extractor raises when its input is not what the source promises.

Every message names the file, the column or line, and what was expected, so
the person on call can act without opening the code.
"""


class SourceError(Exception):
    """A source file is missing, malformed, or lacks a required column."""


class ConfigError(Exception):
    """The organisation config is invalid; nothing has been written."""


class CredentialsError(SourceError):
    """Credentials are missing, expired or refused. The message names the
    provider and what to do, never the secret."""


class SourceUnavailable(Exception):
    """A live source kept throttling or failing after bounded retries. It is
    transient, so a later try (the task's retry) may succeed; nothing has been
    written."""
