#!/usr/bin/env python3
"""Independent test server for cmconform, written from /work/shared/CONTRACT.md alone.

Serves PUT and GET /CertificateManagement/api/v1.0/requests/{id} (CONTRACT.md sections 1-5)
in one of three dialects (faithful readings of the contract) and, optionally, with one fault
(a single broken rule). Standard library only.

    python3 cm_server.py --dialect plain|aspnet|nocontent [--fault NAME] [--port 0]

Prints exactly one line "PORT <n>" once listening. Exits when stdin reaches EOF or on SIGTERM.
See README.md next to this file.
"""

import argparse
import json
import os
import random
import re
import signal
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

API_PREFIX = "/certificatemanagement/api/v1.0/requests/"  # compared case-insensitively (IIS)
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
NOT_COMPLETED = "0001-01-01T00:00:00"  # CONTRACT.md section 3: no zone, "not completed"

# ---- Status codes and life cycle (CONTRACT.md section 5) -------------------------------
STATE_CODES = {
    "none": 0, "approved": 3, "denied": 4, "completed": 8, "failed": 9,
    "pending": 16, "canceled": 17, "executing": 18,
}
FINAL = {4, 8, 9, 17}
# target name -> (resulting Status, states it is allowed from)
TRANSITIONS = {
    "Completed": (8, {3, 18}),
    "Abandoned": (9, {3, 18}),
    "Canceled": (17, {16, 3, 18}),
}
# aspnet dialect: integer status values, read as the documented code of the target state
ASPNET_INT_STATUS = {8: "Completed", 17: "Canceled", 9: "Abandoned"}

# ---- Dialects --------------------------------------------------------------------------
DIALECTS = {
    "plain": {
        "server": "cm-indep-plain/1.0",
        "content_type": "application/json",
        "frac_max": 3,                 # timestamps with up to 3 fraction digits, zeros trimmed
        "success_status": 200,
        "forbidden_status": 403,
        "lenient": False,
        "repeat_completed_idempotent": False,
    },
    "aspnet": {
        "server": "Microsoft-IIS/10.0",
        "content_type": "application/json; charset=utf-8",
        "frac_max": 7,                 # .NET round-trip, trailing zeros trimmed
        "success_status": 200,
        "forbidden_status": 500,       # the CM exception becomes a 500 with correlation ID
        "lenient": True,
        "repeat_completed_idempotent": True,
    },
    "nocontent": {
        "server": "cm-indep-nocontent/1.0",
        "content_type": "application/json; charset=utf-8",
        "frac_max": 0,                 # whole seconds
        "success_status": 204,
        "forbidden_status": 403,
        "lenient": False,
        "repeat_completed_idempotent": False,
    },
}

# ---- Faults: one row each, one broken rule each -----------------------------------------
FAULTS = {
    # a refused forbidden transition deletes the request (refusal changes state; s.6)
    "refusal_deletes": {"on_forbidden": "delete"},
    # unknown well-formed id answers 200 with a made-up Request (s.6 refusal of unknown id)
    "unknown_id_200": {"unknown_id": "fabricate"},
    # Completed timestamp far in the future (s.5: real timestamp; s.3)
    "far_future_completed": {"completed_ticks": "max"},
    # Request JSON has "Status":99 then the real "Status" (s.3: one member per field)
    "duplicate_members": {"duplicate_status": True},
    # 500 bodies are a yellow-screen HTML page with stack trace (s.2, s.6)
    "stack_trace_html": {"error500": "yellow_screen", "forbidden_status": 500},
    # 500 correlation ID is the request's own id (s.2: ID of the logged error)
    "correlation_is_request_id": {"correlation": "request_id", "forbidden_status": 500},
    # lower-case "completed" accepted with 200 but acts as Canceled (s.7 different effect)
    "open_input_different_effect": {"status_alias": {"completed": "Canceled"}},
    # Completed then Completed: 200 and a new Completed timestamp (s.7 repeat rule)
    "repeat_changes": {"repeat_completed": "restamp"},
    # faithful but rude: close TCP after each response without Connection: close
    "close_after_response": {"close_after": True},
    # faithful under the default profile: success bodies chunked, no Content-Length
    "chunked": {"chunked": True},
    # no lock: conflicting concurrent PUTs may all succeed (s.5 life cycle)
    "race_no_lock": {"lock": False, "race_sleep": 0.05},
    # Completed PUT answers success with Status 8 but stores nothing (s.6: 2xx that changes nothing)
    "put_ok_state_unchanged": {"store_success": False},
}

FIELD_ORDER = [
    "Uuid", "RequestType", "Status", "Flags", "DataCollection", "DataCollectionFlags",
    "OriginatorUserUuid", "TargetUserUuid", "Submitted", "Completed", "NewProfileUuid",
    "OldProfileUuid", "NewSmartcardUuid", "OldSmartcardUuid", "Priority", "Comment",
    "ProfileTemplateUuid", "SecurityDescriptor", "IsSmartcard", "IsEnrollmentAgent",
    "IsDataCollectionComplete",
]
assert len(FIELD_ORDER) == 21

# ---- Time: .NET ticks (100 ns since 0001-01-01) -----------------------------------------
EPOCH_TICKS = 621355968000000000  # ticks at 1970-01-01
MAX_TICKS = 3155378975999999999   # 9999-12-31T23:59:59.9999999


def now_ticks():
    return EPOCH_TICKS + time.time_ns() // 100


def format_ticks(ticks, frac_max):
    dt = datetime(1, 1, 1) + timedelta(microseconds=ticks // 10)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = "%07d" % (ticks % 10_000_000)
    frac = frac[:frac_max].rstrip("0")
    return base + ("." + frac if frac else "") + "Z"


# ---- Store -------------------------------------------------------------------------------
class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}   # lower-case D-form guid -> dict (Completed kept as ticks or None)
        self.deleted = set()

    def stage(self, state):
        code = STATE_CODES[state]
        rid = str(uuid.uuid4())
        user = str(uuid.uuid4())
        submitted = now_ticks() - random.randint(10, 3600) * 10_000_000 - random.randint(0, 9_999_999)
        completed = None
        if code == 8:
            completed = submitted + random.randint(1, 60) * 10_000_000 + random.randint(0, 9_999_999)
        req = {
            "Uuid": rid,
            "RequestType": random.choice([1, 2, 3, 5]),
            "Status": code,
            "Flags": 2,
            "DataCollection": random.choice([[], [{"Name": "Reason", "Value": "staged by cm_server.py"},
                                                  {"Name": "Ticket", "Value": None}]]),
            "DataCollectionFlags": 32,
            "OriginatorUserUuid": user,
            "TargetUserUuid": random.choice([user, str(uuid.uuid4())]),
            "Submitted": submitted,
            "Completed": completed,
            "NewProfileUuid": str(uuid.uuid4()),
            "OldProfileUuid": ZERO_GUID,
            "NewSmartcardUuid": str(uuid.uuid4()),
            "OldSmartcardUuid": ZERO_GUID,
            "Priority": random.randint(0, 255),
            "Comment": random.choice(["", "independent test request"]),
            "ProfileTemplateUuid": str(uuid.uuid4()),
            "SecurityDescriptor": "O:S-1-5-21-1004336348-1177238915-682003330-512"
                                  "D:(A;;RPWPCCDCLCSWRCWDWOGA;;;S-1-0-0)\u0000\u0000",
            "IsSmartcard": True,
            "IsEnrollmentAgent": False,
            "IsDataCollectionComplete": False,
        }
        with self.lock:
            self.requests[rid] = req
        return rid


STORE = Store()


# ---- Lenient JSON reader (aspnet dialect, CONTRACT.md section 7) ------------------------
class LenientError(ValueError):
    pass


class Obj(list):
    """A JSON object as a list of (name, value) pairs (duplicates kept, in order)."""


class LenientReader:
    """Json.NET-like reader: single quotes, // and /* */ comments, unquoted member names.
    Objects are returned as lists of (name, value) pairs so duplicates are preserved."""

    def __init__(self, text):
        self.s = text
        self.i = 0

    def skip(self):
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\n\ufeff":
                self.i += 1
            elif s.startswith("//", self.i):
                j = s.find("\n", self.i)
                self.i = len(s) if j < 0 else j + 1
            elif s.startswith("/*", self.i):
                j = s.find("*/", self.i + 2)
                if j < 0:
                    raise LenientError("unterminated comment")
                self.i = j + 2
            else:
                break

    def parse_document(self):
        self.skip()
        if self.i >= len(self.s):
            return ("empty", None)
        v = self.value()
        self.skip()
        if self.i != len(self.s):
            raise LenientError("additional text after the value")
        return ("value", v)

    def value(self):
        self.skip()
        if self.i >= len(self.s):
            raise LenientError("unexpected end")
        c = self.s[self.i]
        if c == "{":
            return self.obj()
        if c == "[":
            return self.arr()
        if c in "\"'":
            return self.string()
        m = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?").match(self.s, self.i)
        if m and m.group(0):
            self.i = m.end()
            t = m.group(0)
            return float(t) if (m.group(2) or m.group(3)) else int(t)
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return val
        raise LenientError("unexpected character %r" % c)

    def string(self):
        q = self.s[self.i]
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.s):
                raise LenientError("unterminated string")
            c = self.s[self.i]
            self.i += 1
            if c == q:
                return "".join(out)
            if c == "\\":
                if self.i >= len(self.s):
                    raise LenientError("bad escape")
                e = self.s[self.i]
                self.i += 1
                simple = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f",
                          "n": "\n", "r": "\r", "t": "\t"}
                if e in simple:
                    out.append(simple[e])
                elif e == "u":
                    h = self.s[self.i:self.i + 4]
                    if not re.fullmatch(r"[0-9a-fA-F]{4}", h):
                        raise LenientError("bad \\u escape")
                    out.append(chr(int(h, 16)))
                    self.i += 4
                else:
                    raise LenientError("bad escape")
            elif c in "\r\n":
                raise LenientError("newline in string")
            else:
                out.append(c)

    def name(self):
        self.skip()
        if self.i < len(self.s) and self.s[self.i] in "\"'":
            return self.string()
        m = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*").match(self.s, self.i)
        if not m:
            raise LenientError("bad member name")
        self.i = m.end()
        return m.group(0)

    def obj(self):
        self.i += 1
        pairs = Obj()
        self.skip()
        if self.s.startswith("}", self.i):
            self.i += 1
            return pairs
        while True:
            k = self.name()
            self.skip()
            if not self.s.startswith(":", self.i):
                raise LenientError("expected ':'")
            self.i += 1
            pairs.append((k, self.value()))
            self.skip()
            if self.s.startswith(",", self.i):
                self.i += 1
                continue
            if self.s.startswith("}", self.i):
                self.i += 1
                return pairs
            raise LenientError("expected ',' or '}'")

    def arr(self):
        self.i += 1
        items = []
        self.skip()
        if self.s.startswith("]", self.i):
            self.i += 1
            return items
        while True:
            items.append(self.value())
            self.skip()
            if self.s.startswith(",", self.i):
                self.i += 1
                continue
            if self.s.startswith("]", self.i):
                self.i += 1
                return items
            raise LenientError("expected ',' or ']'")


# ---- GUIDs --------------------------------------------------------------------------------
RE_D = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
RE_N = re.compile(r"[0-9a-fA-F]{32}")


def parse_guid(text, lenient):
    """Returns the lower-case D form, or None if malformed."""
    if RE_D.fullmatch(text):
        return text.lower()
    if not lenient:
        return None
    t = text.strip()
    if RE_D.fullmatch(t):
        return t.lower()
    if RE_N.fullmatch(t):
        return str(uuid.UUID(hex=t))
    if len(t) == 38 and ((t[0], t[-1]) in (("{", "}"), ("(", ")"))) and RE_D.fullmatch(t[1:-1]):
        return t[1:-1].lower()
    return None


# ---- HTTP ------------------------------------------------------------------------------------
class Reply(Exception):
    def __init__(self, status, body=b"", ctype=None, headers=()):
        self.status, self.body, self.ctype, self.headers = status, body, ctype, list(headers)


IIS_401 = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>
<title>401 - Unauthorized: Access is denied due to invalid credentials.</title>
</head>
<body>
<div id="header"><h1>Server Error</h1></div>
<div id="content">
 <div class="content-container"><fieldset>
  <h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>
  <h3>You do not have permission to view this directory or page using the credentials that you supplied.</h3>
 </fieldset></div>
</div>
</body>
</html>
"""

IIS_404 = """<!DOCTYPE html>
<html><head><title>404 - File or directory not found.</title></head>
<body><h2>404 - File or directory not found.</h2>
<h3>The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.</h3>
</body></html>
"""

IIS_413 = """<!DOCTYPE html>
<html><head><title>413 - Request Entity Too Large</title></head>
<body><h2>413 - Request Entity Too Large</h2>
<h3>The page was not displayed because the request entity is too large.</h3>
</body></html>
"""

YELLOW_SCREEN = """<!DOCTYPE html>
<html>
    <head>
        <title>Request cannot be processed.</title>
    </head>
    <body bgcolor="white">
            <span><H1>Server Error in '/' Application.<hr width=100% size=1 color=silver></H1>
            <h2> <i>Request cannot be processed.</i> </h2></span>
            <b> Exception Details: </b>Microsoft.Clm.Shared.ClmException: Request cannot be processed.<br><br>
            <b>Stack Trace:</b> <br><br>
            <table width=100% bgcolor="#ffffcc"><tr><td><code><pre>
[ClmException: Request {rid} cannot be processed in its current state.]
   at Microsoft.Clm.BusinessLayer.ExecuteOperations.Complete(Guid requestUuid)
   at Microsoft.Clm.Web.API.Controllers.RequestsController.Put(Guid id, RequestStatusUpdate body)
   at System.Web.Http.Controllers.ReflectedHttpActionDescriptor.ActionExecutor.Execute(Object instance, Object[] arguments)
</pre></code></td></tr></table>
            <hr width=100% size=1 color=silver>
            <b>Version Information:</b>&nbsp;Microsoft .NET Framework Version:4.0.30319; ASP.NET Version:4.8.4465.0
    </body>
</html>
"""


def make_handler(dialect_name, fault_name):
    D = DIALECTS[dialect_name]
    F = dict(FAULTS[fault_name]) if fault_name else {}
    forbidden_status = F.get("forbidden_status", D["forbidden_status"])
    use_lock = F.get("lock", True)
    aspnet = dialect_name == "aspnet"

    class _NoLock:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    lock = STORE.lock if use_lock else _NoLock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = D["server"]
        sys_version = ""

        def version_string(self):
            return D["server"]

        def log_message(self, fmt, *args):  # quiet
            if os.environ.get("CM_SERVER_LOG"):
                sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

        # -- output ---------------------------------------------------------------------
        def json_bytes(self, obj):
            return json.dumps(obj, separators=(",", ":")).encode("utf-8")

        def request_json(self, req):
            parts = []
            for k in FIELD_ORDER:
                v = req[k]
                if k in ("Submitted",):
                    v = format_ticks(v, D["frac_max"])
                elif k == "Completed":
                    v = NOT_COMPLETED if v is None else format_ticks(v, D["frac_max"])
                if k == "Status" and F.get("duplicate_status"):
                    parts.insert(1, '"Status":99')
                parts.append(json.dumps(k) + ":" + json.dumps(v, separators=(",", ":")))
            return ("{" + ",".join(parts) + "}").encode("utf-8")

        def api_headers(self):
            if aspnet:
                return [("Cache-Control", "no-cache"), ("Pragma", "no-cache"), ("Expires", "-1"),
                        ("X-AspNet-Version", "4.0.30319"), ("X-Powered-By", "ASP.NET")]
            return []

        def send(self, status, body=b"", ctype=None, headers=(), chunked=False):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if self.close_connection:
                # A polite server says so when it will close (RFC 9112 9.6); only the
                # close_after_response fault closes without a word.
                self.send_header("Connection", "close")
            if status in (204, 304) or (100 <= status < 200):
                body = b""
            else:
                if body and ctype:
                    self.send_header("Content-Type", ctype)
                if chunked and body:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and body:
                if chunked:
                    step = max(1, len(body) // 3)
                    for j in range(0, len(body), step):
                        piece = body[j:j + step]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.wfile.write(body)
            self.wfile.flush()
            if F.get("close_after"):
                # rude: close without announcing Connection: close
                self.close_connection = True

        def api_error(self, status, message, extra=None):
            body = {"Message": message} if aspnet else {"error": message, "status": status}
            if extra:
                body.update(extra)
            return Reply(status, self.json_bytes(body), D["content_type"], self.api_headers())

        def error500(self, rid):
            if F.get("error500") == "yellow_screen":
                return Reply(500, YELLOW_SCREEN.replace("{rid}", rid or "").encode("utf-8"),
                             "text/html; charset=utf-8", self.api_headers())
            corr = rid if (F.get("correlation") == "request_id" and rid) else str(uuid.uuid4())
            return self.api_error(500, "An error has occurred. Correlation ID: %s" % corr)

        # -- input ----------------------------------------------------------------------------
        def read_body(self):
            te = (self.headers.get("Transfer-Encoding") or "").lower()
            if "chunked" in te:
                data = bytearray()
                while True:
                    line = self.rfile.readline(65537)
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass
                        return bytes(data)
                    data += self.rfile.read(size)
                    self.rfile.readline(65537)
                    if len(data) > (1 << 20):
                        self.close_connection = True
                        raise Reply(413, b"", None)
            n = self.headers.get("Content-Length")
            if n is None:
                return b""
            try:
                n = int(n)
            except ValueError:
                self.close_connection = True
                raise Reply(400, b"<h1>Bad Request - Invalid Content Length</h1>", "text/html")
            if n > (1 << 20):
                # Lingering close, as HTTP.sys does: drain what the client is sending before the
                # 413, so the kernel does not reset the connection over unread bytes and lose it.
                left = min(n, 64 << 20)
                while left > 0:
                    chunk = self.rfile.read(min(left, 1 << 16))
                    if not chunk:
                        break
                    left -= len(chunk)
                self.close_connection = True
                raise Reply(413, IIS_413.encode(), "text/html")
            return self.rfile.read(n) if n > 0 else b""

        def media_type(self):
            ct = self.headers.get("Content-Type")
            if ct is None:
                return None, None
            parts = [p.strip() for p in ct.split(";")]
            mt = parts[0].lower()
            charset = None
            for p in parts[1:]:
                if "=" in p:
                    k, v = p.split("=", 1)
                    if k.strip().lower() == "charset":
                        charset = v.strip().strip('"').lower()
            return mt, charset

        # -- dispatch ---------------------------------------------------------------------------
        def handle_any(self):
            try:
                try:
                    body = self.read_body()
                except Reply:
                    raise
                except Exception:
                    self.close_connection = True
                    raise Reply(400, b"<h1>Bad Request</h1>", "text/html")
                raw_path = self.path.split("?", 1)[0]
                if raw_path.lower().rstrip("/") == "/_state":
                    return self.do_state(body)
                self.route(raw_path, body)
            except Reply as r:
                self.send(r.status, r.body, r.ctype, r.headers)

        def route(self, raw_path, body):
            # authentication first: IIS answers before the API runs (CONTRACT.md s.2, s.6)
            if self.headers.get("Authorization") is None:
                if aspnet:
                    raise Reply(401, IIS_401.encode("iso-8859-1"), "text/html",
                                [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM"),
                                 ("X-Powered-By", "ASP.NET")])
                raise Reply(401, self.json_bytes({"error": "authentication required", "status": 401}),
                            D["content_type"], [("WWW-Authenticate", "Negotiate")])
            path = unquote(raw_path) if aspnet else raw_path
            low = path.lower()
            if not low.startswith(API_PREFIX):
                if aspnet:
                    if low.startswith("/certificatemanagement/api/"):
                        raise self.api_error(404, "No HTTP resource was found that matches the request URI '%s'." % path)
                    raise Reply(404, IIS_404.encode(), "text/html")
                raise self.api_error(404, "not found")
            id_text = path[len(API_PREFIX):]
            if aspnet and id_text.endswith("/"):
                id_text = id_text[:-1]
            if "/" in id_text or id_text == "":
                raise self.api_error(404, "No HTTP resource was found that matches the request URI '%s'." % path
                                     if aspnet else "not found")
            rid = parse_guid(id_text, aspnet)
            if self.command not in ("GET", "PUT"):
                raise Reply(405, self.json_bytes(
                    {"Message": "The requested resource does not support http method '%s'." % self.command}
                    if aspnet else {"error": "method not allowed", "status": 405}),
                    D["content_type"], self.api_headers() + [("Allow", "GET, PUT")])
            if rid is None:
                if aspnet:
                    raise self.api_error(400, "The request is invalid.", {
                        "MessageDetail": "The parameters dictionary contains a null entry for parameter "
                                         "'id' of non-nullable type 'System.Guid'."})
                raise self.api_error(400, "malformed request id")
            if self.command == "GET":
                return self.do_get_request(rid)
            return self.do_put_request(rid, body)

        # -- GET ----------------------------------------------------------------------------------
        def do_get_request(self, rid):
            with lock:
                req = STORE.requests.get(rid)
                req = dict(req) if req else None
            if req is None:
                if rid in STORE.deleted:
                    raise Reply(404, b"", None)
                if F.get("unknown_id") == "fabricate":
                    return self.ok_request(self.fabricate(rid, 3), 200)
                raise self.api_error(404, "Request %s was not found." % rid)
            return self.ok_request(req, 200)

        def fabricate(self, rid, status):
            tmp = STORE.stage("approved")
            with STORE.lock:
                req = STORE.requests.pop(tmp)
            req["Uuid"] = rid
            req["Status"] = status
            if status == 8:
                req["Completed"] = now_ticks()
            return req

        def ok_request(self, req, status):
            raise Reply(status, self.request_json(req), D["content_type"], self.api_headers())

        # -- PUT body ------------------------------------------------------------------------------
        def status_from_body(self, body):
            """Returns the target name ("Completed", ...) or raises the dialect's refusal."""
            mt, charset = self.media_type()
            if aspnet:
                return self.status_aspnet(body, mt, charset)
            return self.status_strict(body, mt, charset)

        def status_strict(self, body, mt, charset):
            if mt != "application/json" or (charset not in (None, "utf-8")):
                raise self.api_error(415, "Content-Type must be application/json")
            try:
                text = body.decode("utf-8")

                def no_dups(pairs):
                    names = [k for k, _ in pairs]
                    if len(names) != len(set(names)):
                        raise ValueError("duplicate member")
                    return dict(pairs)

                def no_const(c):
                    raise ValueError("not JSON: %s" % c)

                doc = json.loads(text, object_pairs_hook=no_dups, parse_constant=no_const)
            except (UnicodeDecodeError, ValueError):
                raise self.api_error(400, "body is not strict JSON")
            if not isinstance(doc, dict) or list(doc.keys()) != ["status"]:
                raise self.api_error(400, 'body must be exactly {"status": "Completed"|"Canceled"|"Abandoned"}')
            s = doc["status"]
            alias = F.get("status_alias", {})
            if isinstance(s, str) and s in alias:
                return ("alias", alias[s])
            if not isinstance(s, str) or s not in TRANSITIONS:
                raise self.api_error(400, "unknown status %s" % json.dumps(s))
            return s

        def status_aspnet(self, body, mt, charset):
            invalid = lambda why: self.api_error(400, "The request is invalid.",
                                                 {"ModelState": {"body.status": [why]}})
            if len(body) == 0:
                return None  # Web API binds null: the controller throws -> 500
            if mt is None:
                mt = "application/octet-stream"
            if mt not in ("application/json", "text/json", "application/x-www-form-urlencoded"):
                raise self.api_error(415, "The request entity's media type '%s' is not supported for this resource." % mt)
            enc = charset or "utf-8"
            try:
                text = body.decode(enc)
            except (LookupError, UnicodeDecodeError):
                raise self.api_error(415, "The request entity's media type '%s' is not supported for this resource." % mt)
            if mt == "application/x-www-form-urlencoded":
                try:
                    pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
                except ValueError:
                    raise invalid("malformed form body")
                vals = [v for k, v in pairs if k.lower() == "status"]
                if len(vals) > 1:
                    raise invalid("status given more than once")
                if not vals or vals[0] == "":
                    return None
                v = vals[0]
                if re.fullmatch(r"[0-9]+", v):
                    v = int(v)
                return self.enum_value(v, invalid)
            try:
                kind, doc = LenientReader(text).parse_document()
            except LenientError as e:
                raise invalid("Error parsing JSON: %s" % e)
            if kind == "empty" or doc is None:
                return None
            if not isinstance(doc, Obj):
                raise invalid("Cannot deserialize the current JSON value into the body type.")
            value = None  # {} : status stays null
            for k, v in doc:   # last duplicate wins, names case-insensitive
                if k.lower() == "status":
                    value = v
            if value is None:
                return None
            return self.enum_value(value, invalid)

        def enum_value(self, v, invalid):
            alias = F.get("status_alias", {})
            if isinstance(v, str) and v in alias:
                return ("alias", alias[v])
            if isinstance(v, bool):
                raise invalid("Error converting value to type 'RequestStatus'.")
            if isinstance(v, int):
                if v in ASPNET_INT_STATUS:
                    return ASPNET_INT_STATUS[v]
                raise invalid("Error converting value %d to type 'RequestStatus'." % v)
            if isinstance(v, str):
                for name in TRANSITIONS:
                    if v.lower() == name.lower():
                        return name
            raise invalid("Error converting value %s to type 'RequestStatus'." % json.dumps(v))

        # -- PUT ---------------------------------------------------------------------------------
        def do_put_request(self, rid, body):
            target = self.status_from_body(body)
            alias = False
            if isinstance(target, tuple):
                alias, target = True, target[1]
            exists = rid in STORE.requests
            if not exists:
                if rid in STORE.deleted:
                    raise Reply(404, b"", None)
                if F.get("unknown_id") == "fabricate" and target is not None:
                    req = self.fabricate(rid, TRANSITIONS[target][0])
                    return self.ok_request(req, 200)
                raise self.api_error(404, "Request %s was not found." % rid)
            if target is None:   # aspnet only: no status bound -> unhandled exception
                raise self.error500(rid)
            new_status, allowed_from = TRANSITIONS[target]
            with lock:
                req = STORE.requests.get(rid)
                if req is None:
                    raise self.api_error(404, "Request %s was not found." % rid)
                cur = req["Status"]
                snapshot = dict(req)
                if F.get("race_sleep"):
                    time.sleep(F["race_sleep"])
                if target == "Completed" and cur == 8 and F.get("repeat_completed") == "restamp":
                    req["Completed"] = now_ticks()
                    result = dict(req)
                elif target == "Completed" and cur == 8 and D["repeat_completed_idempotent"] and not alias:
                    result = snapshot   # idempotent: nothing changes
                elif cur not in allowed_from:
                    if F.get("on_forbidden") == "delete":
                        STORE.requests.pop(rid, None)
                        STORE.deleted.add(rid)
                    result = None
                else:
                    new = dict(req)
                    new["Status"] = new_status
                    if target == "Completed":
                        new["Completed"] = MAX_TICKS if F.get("completed_ticks") == "max" else \
                            max(now_ticks(), req["Submitted"] + 1)
                    if F.get("store_success", True) or target != "Completed":
                        STORE.requests[rid] = new
                    result = new
            if result is None:
                if forbidden_status == 500:
                    raise self.error500(rid)
                raise self.api_error(403, "A request in status %d cannot be set to %s." % (cur, target))
            if D["success_status"] == 204:
                raise Reply(204, b"", None, self.api_headers())
            raise Reply(200, self.request_json(result), D["content_type"], self.api_headers())

        # -- provider states ---------------------------------------------------------------------
        def do_state(self, body):
            if self.command != "POST":
                raise Reply(405, b'{"error":"POST only"}', "application/json", [("Allow", "POST")])
            try:
                doc = json.loads(body.decode("utf-8") or "{}")
                action = str(doc.get("action", "setup")).lower()
            except Exception:
                raise Reply(400, b'{"error":"bad JSON"}', "application/json")
            if action == "teardown":
                raise Reply(200, b"{}", "application/json")
            if action != "setup":
                raise Reply(400, b'{"error":"unknown action"}', "application/json")
            state = str(doc.get("state", "")).lower()
            if state not in STATE_CODES:
                raise Reply(400, json.dumps({"error": "unknown state %s" % state}).encode(), "application/json")
            rid = STORE.stage(state)
            raise Reply(200, json.dumps({"id": rid}).encode(), "application/json")

        # every method goes through handle_any (no 501 from http.server)
        def __getattr__(self, name):
            if name.startswith("do_"):
                return self.handle_any
            raise AttributeError(name)

    # send_header keeps repeated WWW-Authenticate: http.server allows repeats
    if F.get("chunked"):
        orig = Handler.send

        def send(self, status, body=b"", ctype=None, headers=(), chunked=False):
            return orig(self, status, body, ctype, headers, chunked=(200 <= status < 300))

        Handler.send = send
    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dialect", required=True, choices=sorted(DIALECTS))
    ap.add_argument("--fault", choices=sorted(FAULTS))
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()

    Handler = make_handler(a.dialect, a.fault)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except Exception:
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
