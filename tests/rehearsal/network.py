"""Where a request comes from, in the deploy rehearsal: the gateway's network as Terraform created it in
the AWS emulator, in front of the genuine proxy.

Every party has its own loopback address (127.0.0.0/8 only), and every hop checks the peer address of
its TCP connection, as a security group and an ALB's `source-ip` condition do:

    INTERNET  a GitHub-hosted runner, or anyone else on the internet (no security group)
    RUNNER    the CodeBuild runner in the private subnets: the security groups of its CodeBuild project
    ALB       the load balancer's nodes: the security groups of the load balancer
    TASKS     the gateway tasks' network interface: the security groups of the ECS service

- The load balancer (`LoadBalancer`) serves its HTTPS listener's rules as describe_rules returns them:
  priority order, path-pattern and source-ip conditions, forward or fixed-response, the listener's
  default action. It admits a client only if its security group does, and forwards from ALB to TASKS.
  TLS is not emulated (plain HTTP on the listener's behalf); everything else about the listener is.
- The tasks (`Gate` at TASKS) admit a connection only when the tasks' security group has an ingress
  rule for the proxy port that names one of the peer's security groups (or a CIDR holding its address)
  and the peer's own group lets it out; otherwise the connection is closed unanswered.
- A job's network (`Network.url`) is what its runner can name and from where it connects: on the
  runner the tasks' private DNS name (Cloud Map, read from the emulator) leads to TASKS from RUNNER;
  on the internet only the gateway's public host name leads anywhere (the ALB, from INTERNET), and the
  private name does not resolve. A script gets its LITELLM_BASE_URL rewritten to a local relay that
  connects from its network's address; gatewayctl itself is not touched.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import BaseRequestHandler, ThreadingTCPServer
from urllib.parse import urlsplit, urlunsplit

INTERNET = "127.0.0.10"
RUNNER = "127.0.0.20"
ALB = "127.0.0.30"
TASKS = "127.0.0.40"
NETWORKS = {"internet": INTERNET, "runner": RUNNER}


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Relay:
    """A TCP hop: listens on `listen`, admits a peer if `admit(peer address)`, and connects to `upstream`
    from `source` (the address the next hop sees)."""

    def __init__(self, listen: str, upstream: tuple[str, int], source: str,
                 admit: Callable[[str], bool] = lambda _peer: True):
        relay = self

        class Server(ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def process_request_thread(self, request, client_address):  # type: ignore[no-untyped-def]
                try:
                    if not relay.admit(client_address[0]):
                        relay.dropped.append(client_address[0])
                        return  # a security group drops the packets: the connection never answers
                    relay.admitted.add(client_address[0])
                    up = socket.create_connection(relay.upstream, timeout=60, source_address=(relay.source, 0))
                    t = threading.Thread(target=_pump, args=(up, request), daemon=True)
                    t.start()
                    _pump(request, up)
                    t.join(60)
                finally:
                    self.shutdown_request(request)

        self.upstream, self.source, self.admit = upstream, source, admit
        self.dropped: list[str] = []
        self.admitted: set[str] = set()
        self.server = Server((listen, 0), BaseRequestHandler)
        self.address = self.server.server_address
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _path_matches(pattern: str, path: str) -> bool:
    """An ALB path-pattern: case-sensitive, `*` any characters, `?` one, the path only."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, path) is not None


class LoadBalancer:
    """The ALB's HTTPS listener, from the emulator's elbv2 and ec2 as Terraform left them."""

    def __init__(self, aws: Callable, name: str, tasks: tuple[str, int], security: SecurityGroups):
        elbv2 = aws("elbv2")
        (lb,) = [b for b in elbv2.describe_load_balancers()["LoadBalancers"] if b["LoadBalancerName"] == name]
        self.security_groups = lb["SecurityGroups"]
        (self.listener,) = [li for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
                            if li["Port"] == 443]
        rules = elbv2.describe_rules(ListenerArn=self.listener["ListenerArn"])["Rules"]
        self.rules = sorted((r for r in rules if not r["IsDefault"]), key=lambda r: int(r["Priority"]))
        self.default_actions = self.listener["DefaultActions"]
        self.tasks, self.security = tasks, security
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # type: ignore[no-untyped-def]
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                action = balancer.action(self.path, self.client_address[0])
                balancer.seen.append((self.client_address[0], self.command, self.path, action["Type"]))
                if action["Type"] == "fixed-response":
                    cfg = action["FixedResponseConfig"]
                    payload = cfg.get("MessageBody", "").encode()
                    self.send_response(int(cfg["StatusCode"]))
                    self.send_header("Content-Type", cfg.get("ContentType", "text/plain"))
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                assert action["Type"] == "forward", action
                conn = http.client.HTTPConnection(*balancer.tasks, timeout=120, source_address=(ALB, 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "host")}
                headers["X-Forwarded-For"] = self.client_address[0]
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address) -> bool:  # type: ignore[no-untyped-def]
                admitted = balancer.security.admits(balancer.security_groups, client_address[0], 443)
                if not admitted:
                    balancer.dropped.append(client_address[0])
                return admitted

        self.seen: list[tuple[str, str, str, str]] = []
        self.dropped: list[str] = []
        self.server = Server((ALB, 0), Handler)
        self.address = self.server.server_address
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def action(self, target: str, peer: str) -> dict:
        path = urlsplit(target).path
        for rule in self.rules:
            if all(self._condition(c, path, peer) for c in rule["Conditions"]):
                return rule["Actions"][0]
        return self.default_actions[0]

    @staticmethod
    def _condition(condition: dict, path: str, peer: str) -> bool:
        field = condition["Field"]
        if field == "path-pattern":
            values = (condition.get("PathPatternConfig") or {}).get("Values") or condition.get("Values", [])
            return any(_path_matches(v, path) for v in values)
        if field == "source-ip":
            values = condition["SourceIpConfig"]["Values"]
            return any(ipaddress.ip_address(peer) in ipaddress.ip_network(v, strict=False) for v in values)
        raise AssertionError(f"listener rule condition {field} is not emulated; add it")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SecurityGroups:
    """The emulator's security-group rules, and which groups each address of this network carries."""

    def __init__(self, aws: Callable, members: dict[str, list[str]]):
        self.rules = aws("ec2").describe_security_group_rules()["SecurityGroupRules"]
        self.members = members  # address -> security group ids

    def _allows(self, group: str, egress: bool, port: int, peer_address: str, peer_groups: list[str]) -> bool:
        for r in self.rules:
            if r["GroupId"] != group or r["IsEgress"] != egress or r["IpProtocol"] not in ("tcp", "-1"):
                continue
            if r["IpProtocol"] == "tcp" and not r["FromPort"] <= port <= r["ToPort"]:
                continue
            ref = (r.get("ReferencedGroupInfo") or {}).get("GroupId")
            if ref and ref in peer_groups:
                return True
            cidr = r.get("CidrIpv4")
            if cidr and ipaddress.ip_address(peer_address) in ipaddress.ip_network(cidr):
                return True
        return False

    def admits(self, groups: list[str], peer: str, port: int, own_address: str | None = None) -> bool:
        """Stateful SGs: the destination's groups admit the peer, and the peer's groups (if it has any)
        let the connection out."""
        peer_groups = self.members.get(peer, [])
        inbound = any(self._allows(g, False, port, peer, peer_groups) for g in groups)
        outbound = not peer_groups or any(
            self._allows(g, True, port, own_address or "0.0.0.0", groups) for g in peer_groups)
        return inbound and outbound


class Network:
    """The gateway's network in the emulator, in front of `upstream` (the genuine proxy's host, port)."""

    def __init__(self, aws: Callable, outputs: dict, upstream: tuple[str, int], public_host: str,
                 proxy_port: int = 4000):
        ecs = aws("ecs")
        (service,) = ecs.describe_services(cluster=outputs["cluster_name"],
                                           services=[outputs["service_name"]])["services"]
        task_groups = service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]
        (project,) = aws("codebuild").batch_get_projects(names=[outputs["runner_project_name"]])["projects"]
        runner_groups = project["vpcConfig"]["securityGroupIds"]
        (lb,) = aws("elbv2").describe_load_balancers()["LoadBalancers"]  # the stack has one, on the internet
        lb_name, lb_groups = lb["LoadBalancerName"], lb["SecurityGroups"]
        self.security = SecurityGroups(aws, {RUNNER: runner_groups, ALB: lb_groups, TASKS: task_groups})
        self.tasks = Relay(TASKS, upstream, TASKS,
                           admit=lambda peer: self.security.admits(task_groups, peer, proxy_port, TASKS))
        self.lb = LoadBalancer(aws, lb_name, self.tasks.address, self.security)
        # Each network's names: the private namespace resolves only inside the VPC.
        sd = aws("servicediscovery")
        (namespace,) = [n for n in sd.list_namespaces()["Namespaces"] if n["Type"] == "DNS_PRIVATE"]
        (registry,) = [s for s in sd.list_services()["Services"]
                       if s["Arn"] in {r["registryArn"] for r in service["serviceRegistries"]}]
        self.private_name = f"{registry['Name']}.{namespace['Name']}"
        self.names = {
            "runner": {(self.private_name, proxy_port): self.tasks.address},
            "internet": {(public_host, 443): self.lb.address},
        }
        self._relays: dict[tuple[str, str, int], Relay] = {}

    def url(self, network: str, url: str) -> str:
        """`url` as a client on `network` reaches it: through a relay that connects from the network's
        address to what the name means there; unchanged (so unresolvable) where it means nothing."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = self.names[network].get((parts.hostname or "", port))
        if target is None:
            return url
        key = (network, parts.hostname or "", port)
        if key not in self._relays:
            self._relays[key] = Relay("127.0.0.1", target, NETWORKS[network])
        host, relay_port = self._relays[key].address
        return urlunsplit(("http", f"{host}:{relay_port}", parts.path, parts.query, parts.fragment))

    def close(self) -> None:
        for relay in self._relays.values():
            relay.close()
        self.lb.close()
        self.tasks.close()


# ---------------------------------------------------------------------------- which network a script runs in
SECRET_REF = re.compile(r"^\$\{\{\s*secrets\.([A-Z0-9_]+)\s*\}\}$")
CI_SCRIPT = re.compile(r"\bscripts/ci/([a-z][a-z0-9-]*)(?![\w-])")


def workflow_steps(workflows: Path) -> dict[str, list[tuple[str, str, dict[str, str]]]]:
    """scripts/ci/<name> -> every (network, job, step env) of the workflow steps that run it, read from
    the workflows: a job whose runs-on is a CodeBuild runner label is in the VPC, any other on the internet."""
    import yaml

    found: dict[str, list[tuple[str, str, dict[str, str]]]] = {}
    for path in sorted(workflows.glob("*.yml")):
        for job_id, job in (yaml.safe_load(path.read_text()).get("jobs") or {}).items():
            network = "runner" if str(job.get("runs-on", "")).startswith("codebuild-") else "internet"
            for step in job.get("steps") or []:
                for name in CI_SCRIPT.findall(str(step.get("run", ""))):
                    env = {k: str(v) for k, v in (step.get("env") or {}).items()}
                    found.setdefault(name, []).append((network, f"{path.name}:{job_id}", env))
    return found
