"""The API's wall (issue 6): sessions, CSRF, roles, rate limiting, TOTP, expiry, headers, audit."""

import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import PASSWORD, TwoStations, totp  # noqa: E402

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "strict-transport-security": "max-age=",
}


class SecurityTest(TwoStations):
    def assert_security_headers(self, headers, what):
        for name, value in SECURITY_HEADERS.items():
            self.assertIn(name, headers, f"{what}: no {name}")
            self.assertIn(value, headers[name], f"{what}: {name} is {headers[name]}")

    def test_security_headers_are_on_every_kind_of_response(self):
        client = self.alpha.client()
        responses = {
            "healthz": client.call("GET", "/healthz"),
            "console page": client.call("GET", "/"),
            "unknown page": client.call("GET", "/no/such/page"),
            "no session": client.call("GET", "/api/v1/status"),
            "unknown api": client.call("GET", "/api/v1/nothing"),
            "wrong method": client.call("PUT", "/api/v1/session", {}),
            "bad login": client.call("POST", "/api/v1/session", {"user": "ann"}),
        }
        client.login("ann")
        responses["login"] = (200, None, client.call("GET", "/api/v1/session")[2])
        responses["status"] = client.call("GET", "/api/v1/status")
        responses["oversized"] = client.call("POST", "/api/v1/lines/ab/messages",
                                             raw=b"{" + b" " * 200_000 + b"}")
        for what, (status, _, headers) in responses.items():
            self.assert_security_headers(headers, f"{what} ({status})")
        csp = responses["console page"][2]["content-security-policy"]
        for directive in ("script-src 'self'", "frame-ancestors 'none'", "object-src",
                          "base-uri 'none'"):
            if directive == "object-src":
                self.assertNotIn("unsafe-inline", csp)
                self.assertNotIn("unsafe-eval", csp)
                continue
            self.assertIn(directive, csp)

    def test_session_cookie_is_httponly_secure_samesite_strict(self):
        client = self.alpha.client()
        status, answer, headers = client.login("ann")
        self.assertEqual(status, 200, answer)
        cookie = headers["set-cookie"]
        for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
            self.assertIn(attribute, cookie)
        self.assertEqual(answer["user"], "ann")
        self.assertEqual(answer["role"], "operator")
        self.assertEqual(len(answer["csrf_token"]), 43)
        # The token is not the cookie.
        self.assertNotIn(answer["csrf_token"], cookie)

    def test_state_changing_calls_need_the_csrf_token_and_our_own_origin(self):
        client = self.logged_in("ann")
        body = {"precedence": "ROUTINE", "text": "csrf check"}
        before = self.alpha.cli_json("status")["lines"][0]["own"]["seq"]
        status, answer, _ = client.call("POST", "/api/v1/lines/ab/messages", body, csrf=False)
        self.assertEqual(status, 403)
        self.assertIn("CSRF", answer["error"])
        status, answer, _ = client.call("POST", "/api/v1/lines/ab/messages", body,
                                        headers={"X-CSRF-Token": "A" * 43})
        self.assertEqual(status, 403)
        self.assertIn("wrong CSRF token", answer["error"])
        status, answer, _ = client.call("POST", "/api/v1/lines/ab/messages", body,
                                        headers={"Origin": "https://evil.example"})
        self.assertEqual(status, 403)
        self.assertIn("another site", answer["error"])
        # Nothing was sent by the refused calls.
        self.assertEqual(self.alpha.cli_json("status")["lines"][0]["own"]["seq"], before)
        status, answer, _ = client.call("POST", "/api/v1/lines/ab/messages", body)
        self.assertEqual(status, 201, answer)
        self.assertEqual(self.alpha.cli_json("status")["lines"][0]["own"]["seq"], before + 1)

    def test_roles_are_checked_on_the_server(self):
        auditor = self.logged_in("otto")
        status, answer, _ = auditor.call("POST", "/api/v1/lines/ab/messages",
                                         {"precedence": "FLASH", "text": "not mine to send"})
        self.assertEqual(status, 403)
        self.assertIn("auditor role may not send an immediate message", answer["error"])
        admin = self.logged_in("adam")
        status, answer, _ = admin.call("GET", "/api/v1/lines/ab/requests")
        self.assertEqual(status, 403)
        self.assertIn("administrator", answer["error"])
        status, _, _ = admin.call("GET", "/api/v1/users")
        self.assertEqual(status, 200)
        operator = self.logged_in("ann")
        status, answer, _ = operator.call("GET", "/api/v1/audit")
        self.assertEqual(status, 403)
        # The acting user is the session's, never the body's.
        status, answer, _ = operator.call("POST", "/api/v1/lines/ab/messages",
                                          {"text": "as someone else", "as": "paul"})
        self.assertEqual(status, 400)
        self.assertIn("'as'", answer["error"])

    def test_wrong_passwords_are_rate_limited_per_user_and_recover_after_the_window(self):
        harness.run("user", "add", "--dir", self.alpha.dir, "--name", "rita", "--role",
                    "operator", stdin=PASSWORD + "\n")
        self.alpha.stop()
        self.alpha.start()
        client = self.alpha.client()
        for attempt in range(5):
            status, answer, _ = client.login("rita", "wrong password " + str(attempt))
            self.assertEqual(status, 401, answer)
            self.assertEqual(answer["error"], "wrong user name or password")
        # Now even the right password is refused, without being checked.
        status, answer, headers = client.login("rita")
        self.assertEqual(status, 429, answer)
        self.assertGreater(int(headers["retry-after"]), 0)
        # Other users are not locked out by rita's failures.
        self.assertEqual(self.alpha.client().login("ann")[0], 200)
        self.alpha.advance_clock("16m")
        status, answer, _ = client.login("rita")
        self.assertEqual(status, 200, answer)

    def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(self):
        client = self.alpha.client()
        unknown = client.login("nobody-here", "whatever it is 123")
        wrong = client.login("paul", "not pauls password")
        self.assertEqual(unknown[0], 401)
        self.assertEqual(unknown[1], wrong[1])

    def test_totp_is_enforced_once_enrolled_and_a_code_is_used_once(self):
        harness.run("user", "add", "--dir", self.alpha.dir, "--name", "tess", "--role",
                    "principal", stdin=PASSWORD + "\n")
        client = self.logged_in("tess")
        enrolment = client.must("POST", "/api/v1/session/totp")
        self.assertTrue(enrolment["uri"].startswith("otpauth://totp/"))
        self.assertIn("<svg", enrolment["qr_svg"])
        self.assertNotIn("<script", enrolment["qr_svg"])
        secret = enrolment["secret"]
        now = self.station_seconds()
        status, answer, _ = client.call("POST", "/api/v1/session/totp/confirm", {"code": "000000"
                                        if totp(secret, now) != "000000" else "111111"})
        self.assertEqual(status, 400, answer)
        client.must("POST", "/api/v1/session/totp/confirm", {"code": totp(secret, now)})
        # The password alone no longer logs tess in.
        fresh = self.alpha.client()
        status, answer, _ = fresh.login("tess")
        self.assertEqual(status, 401)
        self.assertTrue(answer.get("totp_required"))
        # The code just used to confirm cannot be used again; the next step's can.
        status, answer, _ = fresh.login("tess", code=totp(secret, now))
        self.assertEqual(status, 401, answer)
        self.alpha.advance_clock("30s")
        later = self.station_seconds()
        status, answer, _ = fresh.login("tess", code=totp(secret, later))
        self.assertEqual(status, 200, answer)
        self.assertTrue(answer["totp_enrolled"])
        status, answer, _ = self.alpha.client().login("tess", code=totp(secret, later))
        self.assertEqual(status, 401, "a code logs in once")

    def station_seconds(self):
        clock = self.alpha.cli_json("clock", "show")
        return harness.parse_utc(clock["now"])

    def test_a_session_expires_when_idle_and_logging_out_ends_it(self):
        client = self.logged_in("paul")
        self.assertEqual(client.call("GET", "/api/v1/session")[0], 200)
        self.alpha.advance_clock("10m")
        self.assertEqual(client.call("GET", "/api/v1/session")[0], 200, "10 min idle is fine")
        self.alpha.advance_clock("16m")
        status, answer, _ = client.call("GET", "/api/v1/session")
        self.assertEqual(status, 401)
        self.assertIn("ended", answer["error"])
        other = self.logged_in("paul")
        other.must("DELETE", "/api/v1/session")
        self.assertEqual(other.call("GET", "/api/v1/lines/ab/requests")[0], 401)

    def test_a_disabled_user_is_logged_out_at_once(self):
        harness.run("user", "add", "--dir", self.alpha.dir, "--name", "dora", "--role",
                    "operator", stdin=PASSWORD + "\n")
        dora = self.logged_in("dora")
        admin = self.logged_in("adam")
        admin.must("POST", "/api/v1/users/dora/disable")
        status, _, _ = dora.call("GET", "/api/v1/lines/ab/requests")
        self.assertEqual(status, 401)
        self.assertEqual(self.alpha.client().login("dora")[0], 401)

    def test_every_local_action_is_in_the_audit_trail(self):
        operator = self.logged_in("ann")
        answer = operator.must("POST", "/api/v1/lines/ab/requests",
                               {"kind": "call", "topic": "audit me"})
        operator.call("POST", "/api/v1/lines/ab/messages", {"text": "x"}, csrf=False)
        status, _, _ = operator.call("POST", "/api/v1/lines/zz/messages", {"text": "no line"})
        self.assertEqual(status, 404)
        self.alpha.client().login("ann", "a wrong password!")
        harness.run("send", "--dir", self.alpha.dir, "--line", "ab", "--precedence", "ROUTINE",
                    "--text", "from the control socket", "--as", "ann")
        auditor = self.logged_in("otto")
        rows = auditor.must("GET", "/api/v1/audit?limit=1000")["audit"]
        def find(predicate):
            return [r for r in rows if predicate(r)]
        created = find(lambda r: r["action"] == "POST /api/v1/lines/ab/requests"
                       and r["detail"] == "id " + answer["id"])
        self.assertEqual(len(created), 1, rows)
        self.assertEqual(created[0]["user"], "ann")
        self.assertEqual(created[0]["role"], "operator")
        self.assertEqual(created[0]["outcome"], 201)
        self.assertTrue(created[0]["source"].startswith("api 127.0.0.1:"))
        self.assertTrue(find(lambda r: r["action"] == "POST /api/v1/lines/ab/messages"
                             and r["outcome"] == 403 and r["user"] == "ann"))
        self.assertTrue(find(lambda r: r["action"] == "login-failed" and r["user"] == "ann"))
        self.assertTrue(find(lambda r: r["action"] == "login" and r["user"] == "otto"))
        # The row is written before the call acts and its outcome after it answers; reading the
        # trail right after the answer finds the outcome.
        self.assertTrue(find(lambda r: r["source"] == "control socket" and r["user"] == "ann"
                             and r["action"] == "POST /v1/lines/ab/messages"
                             and r["outcome"] == 201))
        self.assertTrue(find(lambda r: r["action"] == "POST /api/v1/lines/zz/messages"
                             and r["outcome"] == 404 and "zz" in r["detail"]), rows)
        self.assertFalse(find(lambda r: r["outcome"] == 0), "every call's outcome is written")
        ids = [r["id"] for r in rows]
        self.assertEqual(ids, sorted(ids))
        page = auditor.must("GET", f"/api/v1/audit?after={ids[-2]}")["audit"]
        self.assertEqual([r["id"] for r in page], ids[-1:])

    def test_healthz_announces_the_test_clock_and_metrics_count_logins(self):
        client = self.alpha.client()
        status, health, _ = client.call("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(health["status"], "ready")
        self.assertTrue(health["test_clock"])
        self.assertEqual(health["store"], "open")
        client.login("ann", "wrong wrong wrong")
        status, text, headers = client.call("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        for metric in ("hotline_logins_total{outcome=\"wrong-password\"}",
                       "hotline_entries_sent_total{line=\"ab\"}",
                       "hotline_outbox_depth{line=\"ab\",precedence=\"FLASH\"}",
                       "hotline_line_up{line=\"ab\"} 1",
                       "hotline_api_request_duration_seconds_bucket",
                       "hotline_handshakes_refused_total",
                       "hotline_line_round_trip_seconds_bucket"):
            self.assertIn(metric, text)

    def test_the_api_speaks_tls_1_3_only(self):
        context = self.alpha.tls_context()
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", self.alpha.api_port), timeout=10) as raw:
            with self.assertRaises(ssl.SSLError):
                context.wrap_socket(raw, server_hostname="127.0.0.1")
        context = self.alpha.tls_context()
        with socket.create_connection(("127.0.0.1", self.alpha.api_port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                self.assertEqual(tls.version(), "TLSv1.3")
        # A plain HTTP request to the TLS port gets no answer but a closed connection.
        with socket.create_connection(("127.0.0.1", self.alpha.api_port), timeout=10) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            self.assertNotIn(b"200 OK", raw.recv(4096))


class PlainHttpTest(unittest.TestCase):
    def test_plain_http_is_refused_anywhere_but_loopback(self):
        root = tempfile.mkdtemp(prefix="hotline-api-plain-")
        done = harness.run("init", "--dir", os.path.join(root, "x"), "--name", "x", "--api",
                           "0.0.0.0:7999", "--no-api-tls", check=False)
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("loopback", done.stderr)
        station = harness.Station(root, "y", {"ann": "operator"})
        config = os.path.join(station.dir, "hotline.toml")
        with open(config) as f:
            text = f.read()
        with open(config, "w") as f:
            f.write(text.replace("api_tls = true", "api_tls = false")
                    .replace(f"api = '127.0.0.1:{station.api_port}'", "api = '0.0.0.0:7999'"))
        done = subprocess.run([harness.HOTLINE, "serve", "--dir", station.dir],
                              capture_output=True, text=True, timeout=30)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("api_tls", done.stderr)
        self.assertIn("loopback", done.stderr)

    def test_a_station_made_before_the_api_gets_its_certificate_at_its_first_start(self):
        root = tempfile.mkdtemp(prefix="hotline-api-upgrade-")
        station = harness.Station(root, "old", {"ann": "operator"})
        os.remove(os.path.join(station.dir, "api-cert.pem"))
        os.remove(os.path.join(station.dir, "api-key.pem"))
        station.start()
        try:
            status, health, _ = station.client().call("GET", "/healthz")  # verifies the new cert
            self.assertEqual(status, 503, "no line configured yet: not ready")
            self.assertEqual(health["status"], "not ready")
            self.assertEqual(health["lines_configured"], 0)
            self.assertEqual(os.stat(os.path.join(station.dir, "api-key.pem")).st_mode & 0o777,
                             0o600)
        finally:
            station.stop()


if __name__ == "__main__":
    unittest.main()
