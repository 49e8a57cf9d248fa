"""negmon: find the Russian social-media posts that need a reply from a regional government."""

__version__ = "0.1.0"
__all__ = ["__version__"]
