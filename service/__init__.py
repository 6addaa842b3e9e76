"""The hwsearch service: REST API, workers, database, guarded dashboard, and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hwsearch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
