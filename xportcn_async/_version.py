"""The package version, in a module of its own so that any module can import it without an
import cycle (``xportcn_async.__version__`` re-exports it; pyproject.toml reads it here)."""

__version__ = "0.1.0"
