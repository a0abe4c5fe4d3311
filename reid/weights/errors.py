"""The one error of the weight readers."""


class WeightFileError(ValueError):
    """A weight file that cannot be read: unknown format, truncated or corrupt, or refused as unsafe. The
    message names the file."""


class WeightMappingError(ValueError):
    """Weights that do not fit the backbone they are imported into: another network, an unknown naming, or
    tensors missing, extra or of the wrong shape (all of them named in the message and in .missing, .extra,
    .mismatched)."""

    def __init__(self, message: str, *, missing=(), extra=(), mismatched=()):
        super().__init__(message)
        self.missing, self.extra, self.mismatched = list(missing), list(extra), list(mismatched)
