# Emergency revoke, run as the break-glass ECS task inside the VPC (modules/break-glass): blocks every
# key of one alias on LiteLLM (/key/block), the retiring key of a rotation's overlap included. The
# master key comes from the container's environment (ECS injects it from Secrets Manager); it is never
# printed, and neither is any key or key hash. Exit 0: blocked; 3: no key with that alias; 2: bad input.
import json
import os
import re
import sys
import urllib.parse
import urllib.request

RETIRING_SUFFIX = "~retiring"  # reconciler/plan/rotation.py
ALIAS = re.compile(r"^u-[a-z0-9][a-z0-9._-]{0,62}$")


def call(method: str, path: str, body: dict | None = None) -> dict:
    base = os.environ["LITELLM_ADMIN_URL"].rstrip("/")
    # http(s) only (main() checks), so urlopen opens no file: or custom scheme.
    request = urllib.request.Request(  # noqa: S310
        base + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + os.environ["LITELLM_MASTER_KEY"], "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def main() -> int:
    alias = os.environ.get("KEY_ALIAS", "")
    if urllib.parse.urlsplit(os.environ.get("LITELLM_ADMIN_URL", "")).scheme not in ("http", "https"):
        print("LITELLM_ADMIN_URL must be an http(s) URL", file=sys.stderr)
        return 2
    if not ALIAS.match(alias):
        print("KEY_ALIAS must be a gatewayctl key alias such as u-carol", file=sys.stderr)
        return 2
    blocked = 0
    for name in (alias, alias + RETIRING_SUFFIX):
        query = urllib.parse.urlencode({"key_alias": name, "return_full_object": "true"})
        for key in call("GET", "/key/list?" + query).get("keys") or []:
            if key.get("key_alias") != name:
                continue
            call("POST", "/key/block", {"key": key["token"]})
            blocked += 1
            print(f"blocked a key with alias {name}")
    if not blocked:
        print(f"no key with alias {alias}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
