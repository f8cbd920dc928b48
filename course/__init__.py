"""Beyond Prompting: the shared package every lesson notebook imports.

Importing ``course`` is cheap: heavy libraries (torch, transformers) are only
imported by the submodules that need them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("beyond-prompting")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
