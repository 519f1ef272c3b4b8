"""ACBC LRS: an xAPI Learning Record Store (1.0.3 and 2.0.0)."""

__version__ = "0.1.0"
