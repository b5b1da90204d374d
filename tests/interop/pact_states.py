"""A provider-state service written the way Pact describes the protocol, independent of
cmconform's own state endpoint: Pact verifiers POST a JSON body
{"state": "<free-text description>", "params": {...}, "action": "setup" | "teardown"} to the
state-change URL before (setup) and, when asked to, after (teardown) each interaction; a setup
may answer a JSON object of values for the verifier to use.

This service knows its states only by free-text description (case as written by the consumer,
e.g. "a request in state Approved"), stages each setup by asking the reference server's own
state endpoint (given as UPSTREAM), and answers Pact-style with the values nested in a result
object: {"result": {"id": "<guid>"}}. A teardown must name a request this service staged and not
yet tore down (params.id), or it answers 400. Every call is appended to LOG as one JSON line.

Usage: pact_states.py UPSTREAM LOG  (says "listening on http://127.0.0.1:PORT" on stderr once ready)
"""

import json
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Free-text Pact descriptions this provider understands, and the life-cycle state each stages.
DESCRIPTIONS = {
    "a request in state Pending": "pending",
    "a request in state Approved": "approved",
    "a request in state Executing": "executing",
    "a request in state Completed": "completed",
    "a request in state Canceled": "canceled",
    "a request in state Denied": "denied",
    "a request in state Failed": "failed",
}


class Store:
    def __init__(self, upstream, log_path):
        self.upstream = upstream
        self.log_path = log_path
        self.lock = threading.Lock()
        self.live = {}

    def log(self, record):
        with self.lock, open(self.log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")

    def setup(self, description):
        state = DESCRIPTIONS.get(description)
        if state is None:
            return 400, {"error": f"unknown provider state {description!r}"}
        body = json.dumps({"state": state, "action": "setup"}).encode()
        request = urllib.request.Request(
            self.upstream, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            staged = json.loads(answer.read())["id"]
        with self.lock:
            self.live[staged] = description
        return 200, {"result": {"id": staged}}

    def teardown(self, description, params):
        staged = params.get("id") if isinstance(params, dict) else None
        with self.lock:
            known = self.live.get(staged) == description
            if known:
                del self.live[staged]
        if not known:
            return 400, {"error": f"teardown of {staged!r} that this provider did not stage"}
        return 200, {}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length))
            description, action = body["state"], body.get("action", "setup")
            params = body.get("params", {})
        except (ValueError, KeyError, TypeError) as error:
            return self.answer(400, {"error": f"bad state-change body: {error}"})
        store = self.server.store
        store.log({"state": description, "params": params, "action": action})
        if action == "setup":
            status, answer = store.setup(description)
        elif action == "teardown":
            status, answer = store.teardown(description, params)
        else:
            status, answer = 400, {"error": f"unknown action {action!r}"}
        self.answer(status, answer)

    def answer(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main(upstream, log_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.store = Store(upstream, log_path)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
