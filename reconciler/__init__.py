"""llm-gateway-gitops reconciler: desired state (YAML) -> live state (LiteLLM) -> plan -> apply."""


def __getattr__(name: str) -> str:
    # pyproject.toml's version is the only one: the installed package's metadata carries it. Read on
    # first use, so that commands which do not need it (validate, a pre-commit hook) start faster.
    if name != "__version__":
        raise AttributeError(f"module 'reconciler' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("llm-gateway-gitops")
    except PackageNotFoundError:  # a source tree that was never installed
        value = "0+unknown"
    globals()["__version__"] = value
    return value
