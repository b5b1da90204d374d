"""Schemathesis hooks for tests/interop.rs: before each call, stage a fresh request in state
Approved through the reference server's provider-state endpoint (CM_STATE_URL) and put its id in
the path, so every generated PUT and GET names a request that exists and may take any of the
three documented transitions."""

import json
import os
import urllib.request

import schemathesis

STATE_URL = os.environ["CM_STATE_URL"]


def stage(state):
    body = json.dumps({"state": state, "action": "setup"}).encode()
    request = urllib.request.Request(
        STATE_URL, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)["id"]


@schemathesis.hook
def before_call(ctx, case, kwargs):
    case.path_parameters = {"id": stage("approved")}
