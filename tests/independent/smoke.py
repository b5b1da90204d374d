#!/usr/bin/env python3
"""Self-check of cm_server.py: start each dialect (and each fault once), stage requests,
PUT, GET, assert the basics. Exits non-zero on the first failed assertion. Stdlib only."""

import http.client
import json
import os
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = "/CertificateManagement/api/v1.0/requests/"
AUTH = {"Authorization": "Negotiate x"}


class Server:
    def __init__(self, dialect, fault=None):
        cmd = [sys.executable, os.path.join(HERE, "cm_server.py"), "--dialect", dialect]
        if fault:
            cmd += ["--fault", fault]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().split()
        assert line[0] == "PORT", line
        self.port = int(line[1])

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def call(self, method, path, body=None, headers=None, conn=None):
        c = conn or self.conn()
        h = dict(AUTH)
        h.update(headers or {})
        if body is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/json"
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r.status, r, data

    def stage(self, state):
        st, _, data = self.call("POST", "/_state", json.dumps({"state": state, "action": "setup"}))
        assert st == 200, (st, data)
        return json.loads(data)["id"]

    def put(self, rid, body, headers=None, path=None):
        return self.call("PUT", (path or PATH) + rid, body, headers)

    def get(self, rid):
        st, r, data = self.call("GET", PATH + rid)
        return st, (json.loads(data) if data else None)

    def stop(self):
        self.p.stdin.close()   # the server exits on stdin EOF
        self.p.wait(timeout=5)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def basics(dialect, s):
    rid = s.stage("approved")
    st, before = s.get(rid)
    check(st == 200 and before["Status"] == 3 and before["Completed"] == "0001-01-01T00:00:00", before)
    check(len(before) == 21, sorted(before))
    st, r, data = s.put(rid.upper() if dialect != "plain" else rid, '{"status":"Completed"}',
                        path=PATH.lower())
    if dialect == "nocontent":
        check(st == 204 and data == b"", (st, data))
    else:
        check(st == 200, (st, data))
        check(r.getheader("Content-Type").startswith("application/json"), r.getheader("Content-Type"))
        body = json.loads(data)
        check(body["Status"] == 8 and body["Uuid"] == rid, body)
    st, after = s.get(rid)
    check(after["Status"] == 8 and after["Completed"] > after["Submitted"], after)
    for k in ("Uuid", "RequestType", "Submitted", "OriginatorUserUuid", "TargetUserUuid",
              "ProfileTemplateUuid", "NewProfileUuid", "NewSmartcardUuid"):
        check(after[k] == before[k], k)
    # repeat
    st, _, data = s.put(rid, '{"status":"Completed"}')
    if dialect == "aspnet":
        check(st == 200 and json.loads(data) == after, (st, data))
    else:
        check(st == 403, (st, data))
    check(s.get(rid)[1] == after, "repeat changed something")
    # forbidden transitions from every final state
    for state in ("denied", "completed", "failed", "canceled"):
        for target in ("Completed", "Canceled", "Abandoned"):
            x = s.stage(state)
            b = s.get(x)[1]
            st, _, data = s.put(x, json.dumps({"status": target}))
            check(st == (500 if dialect == "aspnet" else 403) or (dialect == "aspnet" and state == "completed"
                                                                  and target == "Completed" and st == 200),
                  (state, target, st, data))
            check(s.get(x)[1] == b, (state, target, "changed"))
    # allowed transitions
    for state, target, code in (("pending", "Canceled", 17), ("executing", "Abandoned", 9),
                                ("executing", "Completed", 8), ("approved", "Canceled", 17)):
        x = s.stage(state)
        st, _, data = s.put(x, json.dumps({"status": target}))
        check(st in (200, 204), (state, target, st, data))
        check(s.get(x)[1]["Status"] == code, (state, target))
    # no credentials
    x = s.stage("approved")
    c = s.conn()
    c.request("PUT", PATH + x, body=b'{"status":"Completed"}', headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    check(r.status == 401 and r.getheader("WWW-Authenticate"), r.status)
    if dialect == "aspnet":
        check(r.msg.get_all("WWW-Authenticate") == ["Negotiate", "NTLM"], r.msg.get_all("WWW-Authenticate"))
    c.close()
    check(s.get(x)[1]["Status"] == 3, "unauthenticated PUT changed state")
    # unknown id
    st, _ = s.get("0f0f0f0f-0000-4000-8000-000000000000")
    check(st == 404, st)
    # keep-alive: several requests on one connection
    c = s.conn()
    for _ in range(3):
        st, _, _ = s.call("GET", PATH + x, conn=c)
        check(st == 200, st)
    c.close()


def aspnet_extras(s):
    # open inputs treated as canonical
    for body, ctype in (("{status:'completed' /* c */}", "application/json"),
                        ('{"STATUS":"Canceled","status":"Completed","extra":1}', "text/json; charset=utf-8"),
                        ("status=Completed", "application/x-www-form-urlencoded"),
                        ('{"status":8}', "application/json")):
        x = s.stage("approved")
        st, _, data = s.put(x, body, {"Content-Type": ctype})
        check(st == 200 and json.loads(data)["Status"] == 8, (body, st, data))
    for form in ("{%s}", "(%s)", "%s"):
        x = s.stage("approved")
        idt = form % x if form != "%s" else x.replace("-", "")
        st, _, data = s.put(idt.replace("{", "%7B").replace("}", "%7D"), '{"status":"Completed"}')
        check(st == 200 and json.loads(data)["Uuid"] == x, (idt, st, data))
    # no status -> 500 with a fresh correlation id
    for body in ("{}", "null", '{"status":null}', ""):
        x = s.stage("approved")
        st, r, data = s.put(x, body)
        check(st == 500 and "Correlation ID" in json.loads(data)["Message"] and x not in data.decode(),
              (body, st, data))
        check(r.getheader("Cache-Control") == "no-cache" and r.getheader("Server") == "Microsoft-IIS/10.0", "headers")
        check(s.get(x)[1]["Status"] == 3, body)


def faults_quick():
    expect = {
        "far_future_completed": lambda s, x: s.put(x, '{"status":"Completed"}') and
        s.get(x)[1]["Completed"].startswith("9999-12-31T23:59:59"),
        "put_ok_state_unchanged": lambda s, x: s.put(x, '{"status":"Completed"}')[0] == 200 and s.get(x)[1]["Status"] == 3,
        "unknown_id_200": lambda s, x: s.get("0f0f0f0f-0000-4000-8000-000000000000")[0] == 200,
        "duplicate_members": lambda s, x: b'"Status":99' in s.call("GET", PATH + x)[2],
        "refusal_deletes": lambda s, x: s.put(s.stage("denied"), '{"status":"Completed"}')[0] == 403,
        "chunked": lambda s, x: s.call("GET", PATH + x)[1].getheader("Transfer-Encoding") == "chunked",
        "close_after_response": lambda s, x: s.call("GET", PATH + x)[1].getheader("Connection") is None,
    }
    for fault, fn in expect.items():
        s = Server("plain", fault)
        try:
            x = s.stage("approved")
            check(fn(s, x), fault)
        finally:
            s.stop()
    s = Server("aspnet", "stack_trace_html")
    try:
        st, r, data = s.put(s.stage("denied"), '{"status":"Completed"}')
        check(st == 500 and b"Server Error in '/' Application." in data, "stack_trace_html")
    finally:
        s.stop()
    s = Server("aspnet", "race_no_lock")
    try:
        x = s.stage("approved")
        res = []
        ts = [threading.Thread(target=lambda t=t: res.append(s.put(x, json.dumps({"status": t}))[0]))
              for t in ("Completed", "Canceled", "Abandoned", "Completed")]
        [t.start() for t in ts]
        [t.join() for t in ts]
        check(res.count(200) > 1, ("race_no_lock", res))
    finally:
        s.stop()


def main():
    for dialect in ("plain", "aspnet", "nocontent"):
        s = Server(dialect)
        try:
            basics(dialect, s)
            if dialect == "aspnet":
                aspnet_extras(s)
        finally:
            s.stop()
        print("ok", dialect)
    faults_quick()
    print("ok faults")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL", e)
        sys.exit(1)
