#!/usr/bin/env python3
"""An IIS-like Windows Integrated Authentication front for the tests (tests/wia.rs,
tests/kerberos.rs).

A keep-alive HTTP/1.1 server that keeps one security context per TCP connection, as IIS does,
with an acceptor this project did not write: pyspnego for NTLM / SPNEGO, or with --kerberos
MIT Kerberos through python-gssapi (SPNEGO, the keytab named by KRB5_KTNAME). A connection that
completed a handshake stays authenticated until it closes (with --per-request every request
must carry a fresh Kerberos token, as IIS does with authPersistNonNTLM off); its requests are
forwarded to the upstream (the reference server) with the upstream's own credential, and the
answer to a Kerberos token carries the acceptor's mutual-authentication token. Every line it
logs names the connection, so a test can count handshakes and see whether one was split across
connections.

Usage: acceptor.py --upstream URL --upstream-auth VALUE --offer "Negotiate,NTLM"
                   [--html] [--strict-spnego] [--close-after N] [--drop-get-every N]
                   [--log FILE]
                   [--kerberos [--per-request] [--no-mutual]]
                   [--tls CERT KEY [--channel-binding right|wrong]]
The NTLM users come from the file named by NTLM_USER_FILE (DOMAIN:user:password lines).
It prints "listening PORT" once it accepts connections, and stops on SIGTERM.
"""

import argparse
import base64
import http.client
import http.server
import itertools
import signal
import sys
import threading
import urllib.parse

IIS_401 = (
    b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
    b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>401 - Unauthorized: Access is '
    b"denied due to invalid credentials.</title></head><body><div id=\"header\"><h1>Server "
    b"Error</h1></div><div id=\"content\"><fieldset><h2>401 - Unauthorized: Access is denied "
    b"due to invalid credentials.</h2><h3>You do not have permission to view this directory or "
    b"page using the credentials that you supplied.</h3></fieldset></div></body></html>\r\n"
) * 8

CONNECTION_IDS = itertools.count(1)
REUSED_GETS = itertools.count(1)
LOG_LOCK = threading.Lock()
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "authorization", "host"}


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--upstream-auth", required=True)
    parser.add_argument("--offer", default="Negotiate,NTLM")
    parser.add_argument("--html", action="store_true", help="IIS-style HTML 401 pages")
    parser.add_argument("--strict-spnego", action="store_true",
                        help="refuse raw NTLMSSP inside Negotiate")
    parser.add_argument("--close-after", type=int, default=0,
                        help="close each connection after this many authenticated requests")
    parser.add_argument("--drop-get-every", type=int, default=0,
                        help="close the connection instead of answering every Nth GET that "
                             "comes on a connection which served a request before (a server "
                             "closing an idle connection just as a request arrives)")
    parser.add_argument("--log", default=None)
    parser.add_argument("--kerberos", action="store_true",
                        help="accept Kerberos through SPNEGO with python-gssapi")
    parser.add_argument("--per-request", action="store_true",
                        help="(--kerberos) every request must carry a fresh token")
    parser.add_argument("--no-mutual", action="store_true",
                        help="(--kerberos) leave the mutual-authentication token out")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                        help="serve https with this PEM certificate and key")
    parser.add_argument("--channel-binding", choices=["right", "wrong"],
                        help="(--kerberos --tls) require the tls-server-end-point binding of the "
                             "certificate (SHA-256), or a wrong one")
    return parser.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the second waits for the client's
    # delayed ACK of the first (40 ms a request), which a sequential run (--jobs 1) pays in full.
    disable_nagle_algorithm = True
    options = None
    log_file = None

    def setup(self):
        super().setup()
        self.connection_id = next(CONNECTION_IDS)
        self.context = None
        self.scheme = None
        self.authenticated = False
        self.served = 0

    def log_message(self, format, *args):
        pass

    def event(self, text):
        if self.log_file is not None:
            with LOG_LOCK:
                self.log_file.write(f"conn={self.connection_id} {text}\n")
                self.log_file.flush()

    def offers(self):
        return [offer.strip() for offer in self.options.offer.split(",") if offer.strip()]

    def reply(self, status, headers, body, close=False):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def unauthorized(self, challenges):
        body, content_type = (IIS_401, "text/html") if self.options.html else (b"", None)
        headers = [("WWW-Authenticate", value) for value in challenges]
        if content_type:
            headers.append(("Content-Type", content_type))
        self.reply(401, headers, body)

    def refuse(self, why):
        self.event(f"refused {why}")
        self.context = None
        self.unauthorized(self.offers())

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        every = self.options.drop_get_every
        if every and self.command == "GET" and self.served and next(REUSED_GETS) % every == 0:
            self.event("dropped GET without an answer")
            self.close_connection = True
            return
        if not self.authenticated:
            authenticate = self.authenticate_kerberos if self.options.kerberos else self.authenticate
            done, out = authenticate()
            if not done:
                return
        else:
            out = None
        self.forward(body, out)

    def read_authorization(self):
        """The scheme and decoded token of the Authorization header, or (None, None) after
        answering the 401 itself (anonymous, a scheme not offered, a token not base64)."""
        header = self.headers.get("Authorization")
        if not header or " " not in header:
            self.event("anonymous")
            self.unauthorized(self.offers())
            return None, None
        scheme, token = header.split(" ", 1)
        offered = [offer.split(" ")[0].lower() for offer in self.offers()]
        if scheme.lower() not in offered:
            self.refuse(f"scheme {scheme} not offered")
            return None, None
        try:
            return scheme, base64.b64decode(token.strip(), validate=True)
        except ValueError:
            self.refuse("token not base64")
            return None, None

    def authenticate_kerberos(self):
        """One Kerberos token, one fresh acceptor context (tokens are single use; the library's
        replay cache refuses a token seen before); answers the 401 itself unless accepted."""
        import gssapi

        scheme, data = self.read_authorization()
        if data is None:
            return False, None
        self.scheme = "negotiate"
        self.event("negotiate kerberos")
        try:
            context = gssapi.SecurityContext(creds=ACCEPTOR_CREDENTIALS[0], usage="accept",
                                             channel_bindings=CHANNEL_BINDINGS[0])
            out = context.step(data)
            complete = context.complete
        except gssapi.exceptions.GSSError as error:
            self.refuse(f"token: {error}".replace("\n", " "))
            return False, None
        if not complete:
            self.refuse("token: the context needs another leg")
            return False, None
        self.authenticated = not self.options.per_request
        self.event(f"authenticated user={context.initiator_name}")
        return True, out

    def authenticate(self):
        """Steps the connection's context; answers the 401 itself unless the handshake is done."""
        import spnego
        import spnego.exceptions

        scheme, data = self.read_authorization()
        if data is None:
            return False, None
        raw_ntlm = data.startswith(b"NTLMSSP\x00")
        if scheme.lower() == "negotiate" and raw_ntlm and self.options.strict_spnego:
            self.refuse("raw NTLMSSP inside Negotiate")
            return False, None
        first = raw_ntlm and data[8:9] == b"\x01" or not raw_ntlm and data[:1] == b"\x60"
        if first or self.context is None or self.scheme != scheme.lower():
            protocol = "ntlm" if scheme.lower() == "ntlm" else "negotiate"
            self.context = spnego.server(protocol=protocol)
            self.scheme = scheme.lower()
            self.event(f"negotiate scheme={scheme} spnego={not raw_ntlm}")
        try:
            out = self.context.step(data)
        except spnego.exceptions.SpnegoError as error:
            self.refuse(f"authenticate: {error}")
            return False, None
        if self.context.complete:
            self.authenticated = True
            self.event(f"authenticated user={self.context.client_principal}")
            return True, out
        self.event("challenge")
        self.unauthorized([f"{scheme} {base64.b64encode(out or b'').decode()}"])
        return False, None

    def forward(self, body, final_token):
        upstream = urllib.parse.urlsplit(self.options.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in HOP_BY_HOP}
        headers["Authorization"] = self.options.upstream_auth
        try:
            connection.request(self.command, self.path, body=body if body or length_sent(self)
                               else None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            answer_headers = [(name, value) for name, value in response.getheaders()
                              if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"]
            status = response.status
        finally:
            connection.close()
        if final_token and not self.options.no_mutual:
            answer_headers.append(("WWW-Authenticate",
                                   f"{self.scheme.capitalize()} {base64.b64encode(final_token).decode()}"))
        self.served += 1
        close = self.options.close_after and self.served >= self.options.close_after
        self.event(f"served {self.command} {status}" + (" close" if close else ""))
        self.reply(status, answer_headers, payload, close=bool(close))

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any


def length_sent(handler):
    return handler.headers.get("Content-Length") is not None


# The acceptor's credentials (--kerberos), acquired once from KRB5_KTNAME, and the channel
# binding it requires (--channel-binding; None: none required).
ACCEPTOR_CREDENTIALS = []
CHANNEL_BINDINGS = [None]


def tls_server_end_point(certificate_file, right):
    """RFC 5929's binding of a SHA-256-signed certificate: its SHA-256 hash (or a wrong one)."""
    import hashlib
    import ssl

    with open(certificate_file) as pem:
        der = ssl.PEM_cert_to_DER_cert(pem.read())
    digest = hashlib.sha256(der if right else der + b"wrong").digest()
    return b"tls-server-end-point:" + digest


def main():
    options = parse_args()
    if options.kerberos:
        import gssapi

        ACCEPTOR_CREDENTIALS.append(gssapi.Credentials(usage="accept"))
        if options.channel_binding:
            data = tls_server_end_point(options.tls[0], options.channel_binding == "right")
            CHANNEL_BINDINGS[0] = gssapi.raw.ChannelBindings(application_data=data)
    Handler.options = options
    Handler.log_file = open(options.log, "a") if options.log else None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if options.tls:
        import ssl

        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*options.tls)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
