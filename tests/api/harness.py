"""Real stations on loopback and an API client, for the API's tests (issue 6).

Each test class starts two stations, alpha and bravo, with `hotline init`, `line add`, `user add`
and `hotline serve --test-clock`, exactly as an operator would, and talks to alpha's API over
HTTPS, verifying the certificate `init` made (the client trusts that one certificate and nothing
else). Only the standard library, plus python3-websocket for the event stream.
"""

import hashlib
import hmac
import http.client
import json
import os
import random
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import unittest
import warnings

# Clients left to the garbage collector are fine in tests.
warnings.simplefilter("ignore", ResourceWarning)

HOTLINE = os.environ.get("HOTLINE_BINARY", "hotline")
PASSWORD = "correct horse battery staple"

# People of alpha, one per role, and of bravo.
ALPHA_USERS = {
    "ann": "operator",
    "paul": "principal",
    "ivan": "interpreter",
    "otto": "auditor",
    "adam": "administrator",
}
BRAVO_USERS = {"bob": "operator", "bea": "principal"}


def free_port():
    """A port below the kernel's ephemeral range (32768 and up), free when asked.

    A port from bind(0) comes from the ephemeral range, from which every outgoing connection (of
    this test or of another one running beside it) also takes its local port, so it could be taken
    before the station listens on it. 10000-19999 also stays clear of the C++ integration tests'
    ports (tests/integration/station_process.cc picks 20000-32000).
    """
    for _ in range(200):
        port = random.randint(10000, 19999)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("cannot find a free port below the ephemeral range")


def run(*args, stdin=None, check=True):
    done = subprocess.run([HOTLINE, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"hotline {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done


class Station:
    def __init__(self, root, name, users, tls=True):
        self.dir = os.path.join(root, name)
        self.name = name
        self.listen = free_port()
        self.api_port = free_port()
        self.tls = tls
        args = ["init", "--dir", self.dir, "--name", name, "--listen",
                f"127.0.0.1:{self.listen}", "--api", f"127.0.0.1:{self.api_port}"]
        if not tls:
            args.append("--no-api-tls")
        run(*args)
        self.fingerprint = run("fingerprint", "--dir", self.dir).stdout.strip()
        for user, role in users.items():
            run("user", "add", "--dir", self.dir, "--name", user, "--role", role,
                stdin=PASSWORD + "\n")
        self.process = None

    def add_line(self, name, peer, *flags):
        run("line", "add", "--dir", self.dir, "--name", name, "--peer", peer.fingerprint,
            "--route", f"127.0.0.1:{peer.listen}", *flags)

    def start(self):
        self.log = open(os.path.join(self.dir, "serve.log"), "ab")
        self.process = subprocess.Popen([HOTLINE, "serve", "--dir", self.dir, "--test-clock"],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _, _ = self.client().call("GET", "/healthz")
                if status in (200, 503):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"station {self.name} did not start serving its API")

    def stop(self):
        if self.process:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
            self.log.close()

    def kill(self):
        self.process.kill()
        self.process.wait()
        self.process = None
        self.log.close()

    def advance_clock(self, duration):
        run("clock", "advance", "--dir", self.dir, duration)

    def client(self):
        return Client(self)

    def cli_json(self, *args):
        return json.loads(run(*args, "--dir", self.dir, "--json").stdout)

    def tls_context(self):
        context = ssl.create_default_context(cafile=os.path.join(self.dir, "api-cert.pem"))
        return context


class ApiAddress:
    """Where a station's API is, without the station's process: what a client needs, and what
    can be handed to another process."""

    def __init__(self, station):
        self.dir = station.dir
        self.api_port = station.api_port
        self.tls = station.tls

    def tls_context(self):
        return ssl.create_default_context(cafile=os.path.join(self.dir, "api-cert.pem"))

    def client(self):
        return Client(self)


class Client:
    """One browser-like client: keeps the session cookie and repeats the CSRF token."""

    def __init__(self, station):
        self.station = station
        self.cookie = None
        self.csrf = None
        self.connection = None

    def _connect(self):
        if self.connection is None:
            if self.station.tls:
                self.connection = http.client.HTTPSConnection(
                    "127.0.0.1", self.station.api_port, timeout=30,
                    context=self.station.tls_context())
            else:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.station.api_port,
                                                             timeout=30)
        return self.connection

    def close(self):
        if self.connection:
            self.connection.close()
            self.connection = None

    def call(self, method, path, body=None, csrf=True, headers=None, raw=None):
        """Returns (status, parsed JSON or text, headers as a dict of lower-case names)."""
        sent = {}
        if self.cookie:
            sent["Cookie"] = f"hotline_session={self.cookie}"
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            sent["X-CSRF-Token"] = self.csrf
        data = None
        if raw is not None:
            data = raw
            sent["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        for attempt in range(2):
            try:
                connection = self._connect()
                connection.request(method, path, body=data, headers=sent)
                response = connection.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # the server closed an idle keep-alive connection: once more
                if attempt == 1:
                    raise
        got = {k.lower(): v for k, v in response.getheaders()}
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("hotline_session="):
                self.cookie = value.split(";")[0].split("=", 1)[1] or None
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        text = payload.decode("utf-8", "replace")
        if got.get("content-type", "").startswith("application/json"):
            return response.status, json.loads(text), got
        return response.status, text, got

    def login(self, user, password=PASSWORD, code=None):
        body = {"user": user, "password": password}
        if code is not None:
            body["code"] = code
        status, answer, headers = self.call("POST", "/api/v1/session", body)
        if status == 200:
            self.csrf = answer["csrf_token"]
        return status, answer, headers

    def must(self, method, path, body=None, expect=(200, 201)):
        status, answer, _ = self.call(method, path, body)
        if status not in expect:
            raise AssertionError(f"{method} {path} -> {status}: {answer}")
        return answer


def totp(secret_base32, at_seconds, step=30, digits=6):
    """RFC 6238 with HMAC-SHA-1, written from the RFC, to check the station's."""
    import base64
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    counter = struct.pack(">Q", int(at_seconds) // step)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % (10 ** digits)).zfill(digits)


def wait_for(predicate, timeout=30, what="a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class TwoStations(unittest.TestCase):
    """alpha (API under test, TLS) and bravo, joined by line "ab", served with --test-clock."""

    alpha_tls = True
    alpha_line_flags = []  # e.g. ["--two-person-rule"]

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="hotline-api-")
        cls.alpha = Station(cls.root, "alpha", ALPHA_USERS, tls=cls.alpha_tls)
        cls.bravo = Station(cls.root, "bravo", BRAVO_USERS)
        cls.alpha.add_line("ab", cls.bravo, *cls.alpha_line_flags)
        cls.bravo.add_line("ab", cls.alpha)
        cls.alpha.start()
        cls.bravo.start()
        wait_for(lambda: cls.alpha.cli_json("status")["lines"][0]["state"] != "down",
                 what="line ab to open")

    @classmethod
    def tearDownClass(cls):
        cls.alpha.stop()
        cls.bravo.stop()
        if os.environ.get("KEEP_API_TEST_DIRS") is None:
            shutil.rmtree(cls.root, ignore_errors=True)

    def logged_in(self, user, station=None):
        client = (station or self.alpha).client()
        status, answer, _ = client.login(user)
        self.assertEqual(status, 200, answer)
        return client


def parse_utc(text):
    """Seconds since the epoch of "2026-12-05T07:28:56Z"."""
    import calendar
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
