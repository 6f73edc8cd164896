"""llm-gateway-gitops reconciler: desired state (YAML) -> live state (LiteLLM) -> plan -> apply."""

from importlib.metadata import PackageNotFoundError, version

try:
    # pyproject.toml's version is the only one: the installed package's metadata carries it.
    __version__ = version("llm-gateway-gitops")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
