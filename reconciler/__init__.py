"""llm-gateway-gitops reconciler: desired state (YAML) -> live state (LiteLLM) -> plan -> apply.

The folders follow that path. `desired/` reads, validates and renders users/ and policies/; `live/` reads
what the gateway, Secrets Manager and Bedrock hold; `plan/` diffs the two into steps (with its processors,
limits, scope and the reviewer's reports); `apply/` carries the steps out and records the deploy. Side jobs
sit beside them and use only the stages' public names: `notifications/` (key notices, budget alerts),
`finops/` (chargeback, spend), `selfservice/` (whoami, key show --me) and `history/` (access over time,
from git). The top holds the CLI wiring (cli, commands, options, runctx, applycmd) and what all share
(errors, git, lazy). The stages never import a side job (tests/test_layout.py).
"""


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
