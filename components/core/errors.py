"""Errors raised by the library for bad input."""


class InputError(ValueError):
    """Bad user input: a file, column, field or parameter that cannot be used.

    The message names the thing at fault, so the CLI can print it on one line.
    """


class ChecksumError(InputError):
    """A model's files do not match their recorded sha256, manifest or signature: refused before loading."""
