"""A small in-memory GitHub REST API, for the jobs' scripts (scripts/ci/drift-issue, pr-comment).

It keeps issues, labels and comments like GitHub does for the calls those scripts make, so the
rehearsal can check what they leave behind (one drift issue, opened then closed; one plan comment,
created then updated), not which calls they made. It also lists the deploy workflow's runs that the
rehearsal records (`deploy_run`), newest first, filtered by branch and status as GitHub does: no
script reads that list any more (the deploy's baseline is the reconciler's own record), and the
rehearsal fakes a "successful" run there to show that it moves nothing.
For scripts/ci/directory-pr it keeps a repository the way the Git data API shows it (blobs by content
hash, flat trees, commits, branches) and pull requests: `seed_repository` makes main, and `files_on`
reads a branch back, so a test sees which files a pull request's branch removes and that main is untouched.
Pull requests and their reviews (`open_pull`, `review`, `merge`) answer the read-only calls the approval
evidence makes (scripts/ci/githubapi.py: pulls/{n}, pulls/{n}/reviews paged, commits/{sha}/pulls), shaped
like GitHub's: a review records the commit it was given on, a merged pull request its merge commit.
Requests without a token get 401.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class GitHubEmulator:
    def __init__(self) -> None:
        self.issues: dict[int, dict] = {}
        self.comments: dict[int, dict] = {}
        self.labels: set[str] = set()
        self.workflow_runs: list[dict] = []  # deploy.yml's runs, oldest first
        self.trees: dict[str, dict[str, str]] = {}  # tree sha -> {path: blob sha}
        self.commits: dict[str, dict] = {}  # commit sha -> {tree, parents, message}
        self.refs: dict[str, str] = {}  # "heads/<branch>" -> commit sha
        self.pulls: dict[int, dict] = {}
        self.reviews: dict[int, list[dict]] = {}
        self._next = 1
        self._lock = threading.Lock()
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    self._send(401, {"message": "Requires authentication"})
                    return
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                with emulator._lock:
                    status, result = emulator.route(method, url.path, parse_qs(url.query), body)
                self._send(status, result)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # shutdown() waits for the loop's next poll: 0.05 s, not the default 0.5 s, per emulator a test closes
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _id(self) -> int:
        self._next += 1
        return self._next

    def deploy_run(self, head_sha: str, conclusion: str, branch: str = "main") -> None:
        """Record a finished run of deploy.yml (GitHub's `status` filter takes a conclusion too)."""
        with self._lock:
            self.workflow_runs.append({"id": self._id(), "head_sha": head_sha, "head_branch": branch,
                                       "status": "completed", "conclusion": conclusion,
                                       "path": ".github/workflows/deploy.yml"})

    # ------------------------------------------------------------------ the repository (Git data API)
    @staticmethod
    def _sha(kind: str, content: str) -> str:
        return hashlib.sha1(f"{kind}\0{content}".encode()).hexdigest()  # noqa: S324 - an id, as git's

    def _tree(self, files: dict[str, str]) -> str:
        sha = self._sha("tree", json.dumps(files, sort_keys=True))
        self.trees[sha] = dict(files)
        return sha

    def _commit(self, tree: str, parents: list[str], message: str) -> str:
        sha = self._sha("commit", json.dumps([tree, parents, message, self._id()]))
        self.commits[sha] = {"tree": tree, "parents": parents, "message": message}
        return sha

    def seed_repository(self, files: dict[str, str], branch: str = "main") -> None:
        """Make `branch` one commit holding `files` (path -> content)."""
        with self._lock:
            tree = self._tree({path: self._sha("blob", text) for path, text in files.items()})
            self.refs[f"heads/{branch}"] = self._commit(tree, [], "seed")

    def files_on(self, branch: str) -> set[str]:
        with self._lock:
            return set(self.trees[self.commits[self.refs[f"heads/{branch}"]]["tree"]])

    def _git(self, method: str, rest: str, query: dict, body: dict) -> tuple[int, object] | None:
        m = re.fullmatch(r"git/refs?/(heads/.+)", rest)
        if m and m.group(1) in self.refs and method == "GET":
            return 200, {"ref": f"refs/{m.group(1)}", "object": {"sha": self.refs[m.group(1)], "type": "commit"}}
        if m and method == "PATCH":
            if m.group(1) not in self.refs:
                return 422, {"message": "Reference does not exist"}
            if not body.get("force") and self.refs[m.group(1)] not in self.commits[body["sha"]]["parents"]:
                return 422, {"message": "Update is not a fast forward"}
            self.refs[m.group(1)] = body["sha"]
            return 200, {"ref": f"refs/{m.group(1)}", "object": {"sha": body["sha"]}}
        if rest == "git/refs" and method == "POST":
            name = body["ref"].removeprefix("refs/")
            if name in self.refs:
                return 422, {"message": "Reference already exists"}
            self.refs[name] = body["sha"]
            return 201, {"ref": body["ref"], "object": {"sha": body["sha"]}}
        m = re.fullmatch(r"git/commits/([0-9a-f]+)", rest)
        if m and method == "GET" and m.group(1) in self.commits:
            return 200, {"sha": m.group(1), "tree": {"sha": self.commits[m.group(1)]["tree"]},
                         "parents": [{"sha": p} for p in self.commits[m.group(1)]["parents"]]}
        if rest == "git/commits" and method == "POST":
            return 201, {"sha": self._commit(body["tree"], body["parents"], body["message"])}
        m = re.fullmatch(r"git/trees/([0-9a-f]+)", rest)
        if m and method == "GET" and m.group(1) in self.trees:
            entries = sorted(self.trees[m.group(1)].items())
            return 200, {"sha": m.group(1), "truncated": False,
                         "tree": [{"path": p, "mode": "100644", "type": "blob", "sha": s} for p, s in entries]}
        if rest == "git/trees" and method == "POST":
            files = dict(self.trees[body["base_tree"]]) if body.get("base_tree") else {}
            for entry in body["tree"]:
                if entry.get("sha") is None:
                    files.pop(entry["path"], None)
                else:
                    files[entry["path"]] = entry["sha"]
            return 201, {"sha": self._tree(files)}
        return None

    def _pulls(self, method: str, rest: str, query: dict, body: dict) -> tuple[int, object] | None:
        if rest == "pulls" and method == "GET":
            head, state = query.get("head", [None])[0], query.get("state", ["open"])[0]
            found = [p for p in self.pulls.values() if (state == "all" or p["state"] == state)
                     and (head is None or head.split(":", 1)[-1] == p["head"].get("ref"))]
            return 200, found[: int(query.get("per_page", ["30"])[0])]
        if rest == "pulls" and method == "POST":
            if f"heads/{body['head']}" not in self.refs:
                return 422, {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]}
            number = self._id()
            self.pulls[number] = {"number": number, "state": "open", "title": body["title"], "body": body["body"],
                                  "head": {"ref": body["head"]}, "base": {"ref": body["base"]}}
            return 201, self.pulls[number]
        m = re.fullmatch(r"pulls/(\d+)", rest)
        if m and method == "PATCH" and int(m.group(1)) in self.pulls:
            self.pulls[int(m.group(1))].update({k: v for k, v in body.items() if k in ("body", "state", "title")})
            return 200, self.pulls[int(m.group(1))]

    def open_pull(self, author: str, head_sha: str) -> int:
        with self._lock:
            number = self._id()
            self.pulls[number] = {"number": number, "state": "open", "user": {"login": author},
                                  "head": {"sha": head_sha}, "merged_at": None, "merged_by": None,
                                  "merge_commit_sha": None}
            self.reviews[number] = []
            return number

    def push(self, number: int, head_sha: str) -> None:
        with self._lock:
            self.pulls[number]["head"]["sha"] = head_sha

    def review(self, number: int, login: str, state: str = "APPROVED", commit_id: str | None = None) -> None:
        """A review of the pull request's current head (or of `commit_id`), as GitHub stores it."""
        with self._lock:
            pull = self.pulls[number]
            self.reviews[number].append({"id": self._id(), "user": {"login": login}, "state": state, "body": "",
                                         "commit_id": commit_id or pull["head"]["sha"],
                                         "submitted_at": f"2026-10-01T04:{len(self.reviews[number]):02d}:00Z"})

    def merge(self, number: int, merge_commit_sha: str, merged_by: str) -> None:
        with self._lock:
            self.pulls[number].update({"state": "closed", "merged_at": "2026-10-01T05:00:00Z",
                                       "merged_by": {"login": merged_by}, "merge_commit_sha": merge_commit_sha})

    def _pull_routes(self, rest: str, query: dict) -> tuple[int, object] | None:
        page, per_page = int(query.get("page", ["1"])[0]), int(query.get("per_page", ["30"])[0])
        m = re.fullmatch(r"pulls/(\d+)(/reviews)?", rest)
        if m and int(m.group(1)) in self.pulls:
            number = int(m.group(1))
            if m.group(2):
                return 200, self.reviews[number][(page - 1) * per_page: page * per_page]
            return 200, self.pulls[number]
        m = re.fullmatch(r"commits/([0-9a-f]{40})/pulls", rest)
        if m:
            return 200, [p for p in self.pulls.values()
                         if m.group(1) in (p.get("merge_commit_sha"), p["head"].get("sha"))]
        return None

    def route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, object]:
        m = re.fullmatch(r"/repos/[^/]+/[^/]+/(.*)", path)
        rest = m.group(1) if m else ""
        answer = self._git(method, rest, query, body) or self._pulls(method, rest, query, body)
        if answer is None and method == "GET":
            answer = self._pull_routes(rest, query)
        if answer is not None:
            return answer
        if method == "GET" and rest == "actions/workflows/deploy.yml/runs":
            branch, status = query.get("branch", [None])[0], query.get("status", [None])[0]
            found = [r for r in reversed(self.workflow_runs) if (branch is None or r["head_branch"] == branch)
                     and (status is None or status in (r["status"], r["conclusion"]))]
            return 200, {"total_count": len(found), "workflow_runs": found[: int(query.get("per_page", ["30"])[0])]}
        if method == "GET" and rest == "issues":
            wanted = set(query.get("labels", [""])[0].split(",")) - {""}
            state = query.get("state", ["open"])[0]
            found = [i for i in sorted(self.issues.values(), key=lambda i: -i["number"])
                     if (state == "all" or i["state"] == state) and wanted <= set(i["labels"])]
            return 200, found[: int(query.get("per_page", ["30"])[0])]
        if method == "POST" and rest == "labels":
            if body["name"] in self.labels:
                return 422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]}
            self.labels.add(body["name"])
            return 201, {"name": body["name"]}
        if method == "POST" and rest == "issues":
            number = self._id()
            self.issues[number] = {"number": number, "title": body["title"], "body": body.get("body", ""),
                                   "labels": body.get("labels", []), "state": "open"}
            return 201, self.issues[number]
        m = re.fullmatch(r"issues/(\d+)", rest)
        if method == "PATCH" and m and int(m.group(1)) in self.issues:
            self.issues[int(m.group(1))].update({k: v for k, v in body.items() if k in ("body", "state", "title")})
            return 200, self.issues[int(m.group(1))]
        m = re.fullmatch(r"issues/(\d+)/comments", rest)
        if m:
            issue = int(m.group(1))
            if method == "POST":
                cid = self._id()
                self.comments[cid] = {"id": cid, "issue": issue, "body": body["body"], "user": {"type": "Bot"}}
                return 201, self.comments[cid]
            page, per_page = int(query.get("page", ["1"])[0]), int(query.get("per_page", ["30"])[0])
            mine = [c for c in self.comments.values() if c["issue"] == issue]
            return 200, mine[(page - 1) * per_page: page * per_page]
        m = re.fullmatch(r"issues/comments/(\d+)", rest)
        if method == "PATCH" and m and int(m.group(1)) in self.comments:
            self.comments[int(m.group(1))]["body"] = body["body"]
            return 200, self.comments[int(m.group(1))]
        return 404, {"message": "Not Found"}
