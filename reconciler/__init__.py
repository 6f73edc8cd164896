"""llm-gateway-gitops reconciler: desired state (YAML) -> live state (LiteLLM) -> plan -> apply."""

__version__ = "0.1.0"
