"""The one error of the weight readers."""


class WeightFileError(ValueError):
    """A weight file that cannot be read: unknown format, truncated or corrupt, or refused as unsafe. The
    message names the file."""
