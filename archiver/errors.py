"""The errors archiver raises on purpose, each with a message that says what to do."""


class ArchiverError(Exception):
    """Base class: the message is meant for the operator, one line."""


class ConfigError(ArchiverError):
    """A setting, option or config file is wrong; nothing was written."""


class CollectionError(ArchiverError):
    """The output folder cannot be used as a collection."""


class CollectionUnwritable(ArchiverError):
    """The collection's files cannot be written now (a full disk); the same command works later."""
