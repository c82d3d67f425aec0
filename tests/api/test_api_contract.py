"""docs/api.yaml is the API (issue 6): every documented endpoint answers as documented, and each
refuses what it must: no session, a wrong role, a missing CSRF token, a malformed body (naming the
field), an oversized body. The route table of the server (src/api/routes.cc) and the document
list the same endpoints.
"""

import os
import re
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import TwoStations, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = yaml.safe_load(open(os.path.join(ROOT, "docs", "api.yaml")))
ROLE_OF = {user: role for user, role in harness.ALPHA_USERS.items()}
# A user of each role that may take each action (src/procedure/roles.cc), and one that may not.
MAY = {"send-request": "ann", "acknowledge": "ann", "decide": "paul", "confirm-decision": "paul",
       "withdraw": "ann", "schedule-session": "ann", "conclude-session": "ann",
       "send-immediate": "ann", "attach-translation": "ivan", "read-record": "otto",
       "read-reports": "otto", "manage-users": "adam", "read-audit": "otto"}
MAY_NOT = {"send-request": "otto", "acknowledge": "ivan", "decide": "ivan",
           "confirm-decision": "ann", "withdraw": "otto", "schedule-session": "ivan",
           "conclude-session": "otto", "send-immediate": "adam", "attach-translation": "ann",
           "read-record": "adam", "read-reports": "ivan", "manage-users": "paul",
           "read-audit": "ann"}


def operations():
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "delete", "put", "patch"):
                yield method.upper(), path, op


def resolve(schema):
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = SPEC["components"]["schemas"][name]
    return schema


def response_schema(op, status):
    response = op["responses"].get(str(status))
    if response is None:
        return None
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].split("/")[-1]]
    content = response.get("content", {})
    if "application/json" not in content:
        return None
    return resolve(content["application/json"]["schema"])


class ContractTest(TwoStations):
    alpha_line_flags = ["--two-person-rule"]

    def setUp(self):
        self.bob = self.logged_in("bob", self.bravo)
        self.clients = {}

    def as_user(self, user):
        if user not in self.clients:
            self.clients[user] = self.logged_in(user)
        return self.clients[user]

    def incoming_request(self, topic):
        """A request from bravo, delivered to alpha; its id."""
        answer = self.bob.must("POST", "/api/v1/lines/ab/requests",
                               {"kind": "call", "topic": topic})
        request = answer["id"]
        wait_for(lambda: self.as_user("otto").call(
            "GET", f"/api/v1/lines/ab/requests/{request}")[0] == 200,
            what=f"request {request} to reach alpha")
        return request

    def check(self, method, path, op, status, answer):
        documented = sorted(op["responses"].keys())
        self.assertIn(str(status), documented, f"{method} {path} answered {status}: {answer}")
        schema = response_schema(op, status)
        if schema and isinstance(answer, dict):
            for key in schema.get("required", []):
                self.assertIn(key, answer, f"{method} {path} {status}: no '{key}' in {answer}")

    def test_the_document_lists_exactly_the_server_routes(self):
        with open(os.path.join(ROOT, "src", "api", "routes.cc")) as f:
            routes = re.findall(r'Route\{"(\w+)",\s*"([^"]+)"', f.read())
        documented = [(m, p) for m, p, _ in operations()]
        self.assertEqual(sorted(documented), sorted(routes))
        self.assertEqual(SPEC["openapi"][:2], "3.")

    def test_every_documented_endpoint_answers_as_documented(self):
        # The state each call needs, built by the calls before it (the order of a real desk).
        r1 = self.incoming_request("to accept, schedule, hold")
        r2 = self.incoming_request("to decline")
        r3 = self.incoming_request("to counter")
        r4 = self.incoming_request("to refer")
        r5 = self.incoming_request("drafted by an operator")
        r6 = self.incoming_request("drafted and discarded")
        message = self.bob.must("POST", "/api/v1/lines/ab/messages",
                                {"precedence": "FLASH", "text": "ack me"})
        message_id = f"{self.bravo.fingerprint[4:12]}-{message['seq']}"
        wait_for(lambda: any(m.get("id") == message_id for m in self.as_user("otto").must(
            "GET", "/api/v1/lines/ab/messages")["messages"]), what="the FLASH message")
        own = self.as_user("ann").must("POST", "/api/v1/lines/ab/requests",
                                       {"kind": "video", "topic": "to withdraw"})["id"]
        self.as_user("ann").must("POST", f"/api/v1/lines/ab/requests/{r5}/accept", {},
                                 expect=(201, 202))
        self.as_user("ann").must("POST", f"/api/v1/lines/ab/requests/{r6}/decline",
                                 {"reason": "no"}, expect=(201, 202))
        drafts = self.as_user("otto").must("GET", "/api/v1/lines/ab/decisions")["decisions"]
        pending = [d["id"] for d in drafts if d["status"] == "pending"]
        self.assertEqual(len(pending), 2, drafts)
        window = {"start": "+1h", "end": "+2h"}
        calls = [
            # (method, path template, user, concrete path, body, success statuses)
            ("GET", "/healthz", None, "/healthz", None),
            ("GET", "/metrics", None, "/metrics", None),
            ("POST", "/api/v1/session", None, "/api/v1/session",
             {"user": "ann", "password": harness.PASSWORD}),
            ("GET", "/api/v1/session", "ann", "/api/v1/session", None),
            ("POST", "/api/v1/session/totp", "ivan", "/api/v1/session/totp", {}),
            ("POST", "/api/v1/session/totp/confirm", "ivan", "/api/v1/session/totp/confirm",
             {"code": "TOTP"}),
            ("GET", "/api/v1/events", "ann", "/api/v1/events", None),
            ("GET", "/api/v1/users", "adam", "/api/v1/users", None),
            ("POST", "/api/v1/users", "adam", "/api/v1/users",
             {"name": "newcomer", "role": "operator", "password": harness.PASSWORD}),
            ("POST", "/api/v1/users/{name}/disable", "adam", "/api/v1/users/newcomer/disable",
             {}),
            ("POST", "/api/v1/users/{name}/totp/reset", "adam",
             "/api/v1/users/ivan/totp/reset", {}),
            ("GET", "/api/v1/audit", "otto", "/api/v1/audit?after=0&limit=10", None),
            ("GET", "/api/v1/lines", "adam", "/api/v1/lines", None),
            ("GET", "/api/v1/status", "otto", "/api/v1/status", None),
            ("GET", "/api/v1/lines/{line}/record", "otto",
             "/api/v1/lines/ab/record?chain=peer&from=1&limit=5", None),
            ("GET", "/api/v1/lines/{line}/requests", "otto", "/api/v1/lines/ab/requests", None),
            ("POST", "/api/v1/lines/{line}/requests", "ann", "/api/v1/lines/ab/requests",
             {"kind": "written", "topic": "contract", "windows": [window]}),
            ("GET", "/api/v1/lines/{line}/requests/{id}", "otto",
             f"/api/v1/lines/ab/requests/{r1}", None),
            ("POST", "/api/v1/lines/{line}/requests/{id}/ack", "ann",
             f"/api/v1/lines/ab/requests/{r1}/ack", {}),
            ("POST", "/api/v1/lines/{line}/requests/{id}/accept", "paul",
             f"/api/v1/lines/ab/requests/{r1}/accept", {}),
            ("POST", "/api/v1/lines/{line}/requests/{id}/schedule", "ann",
             f"/api/v1/lines/ab/requests/{r1}/schedule", {"window": window}),
            ("POST", "/api/v1/lines/{line}/requests/{id}/begin", "ann",
             f"/api/v1/lines/ab/requests/{r1}/begin", {}),
            ("POST", "/api/v1/lines/{line}/requests/{id}/conclude", "ann",
             f"/api/v1/lines/ab/requests/{r1}/conclude", {"summary": "agreed"}),
            ("POST", "/api/v1/lines/{line}/requests/{id}/decline", "paul",
             f"/api/v1/lines/ab/requests/{r2}/decline", {"reason": "not now"}),
            ("POST", "/api/v1/lines/{line}/requests/{id}/counter", "paul",
             f"/api/v1/lines/ab/requests/{r3}/counter", {"window": window}),
            ("POST", "/api/v1/lines/{line}/requests/{id}/refer", "paul",
             f"/api/v1/lines/ab/requests/{r4}/refer", {"to": "the deputy minister"}),
            ("POST", "/api/v1/lines/{line}/requests/{id}/withdraw", "ann",
             f"/api/v1/lines/ab/requests/{own}/withdraw", {"reason": "resolved"}),
            ("GET", "/api/v1/lines/{line}/decisions", "otto", "/api/v1/lines/ab/decisions",
             None),
            ("POST", "/api/v1/lines/{line}/decisions/{draft}/confirm", "paul",
             f"/api/v1/lines/ab/decisions/{pending[0]}/confirm", {}),
            ("POST", "/api/v1/lines/{line}/decisions/{draft}/discard", "paul",
             f"/api/v1/lines/ab/decisions/{pending[1]}/discard", {"reason": "rethink"}),
            ("GET", "/api/v1/lines/{line}/messages", "otto", "/api/v1/lines/ab/messages", None),
            ("POST", "/api/v1/lines/{line}/messages", "ann", "/api/v1/lines/ab/messages",
             {"precedence": "IMMEDIATE", "text": "contract"}),
            ("POST", "/api/v1/lines/{line}/messages/{id}/ack", "ann",
             f"/api/v1/lines/ab/messages/{message_id}/ack", {}),
            ("POST", "/api/v1/lines/{line}/entries/{id}/translations", "ivan",
             f"/api/v1/lines/ab/entries/{r1}/translations", {"language": "vi", "text": "xin"}),
            ("GET", "/api/v1/lines/{line}/notices", "otto", "/api/v1/lines/ab/notices", None),
            ("GET", "/api/v1/lines/{line}/report", "otto", "/api/v1/lines/ab/report", None),
            ("DELETE", "/api/v1/session", "paul", "/api/v1/session", None),
        ]
        covered = {(m, p) for m, p, *_ in calls}
        self.assertEqual(covered, {(m, p) for m, p, _ in operations()},
                         "every documented operation is called")
        for method, template, user, path, body in calls:
            op = SPEC["paths"][template][method.lower()]
            client = self.as_user(user) if user else self.alpha.client()
            if template == "/api/v1/events":
                status, answer, _ = client.call("GET", path)  # without the upgrade: 400
                self.check(method, template, op, status, answer)
                self.assertEqual(status, 400)
                continue
            if body == {"code": "TOTP"}:
                secret = self.enrolment_secret
                body = {"code": harness.totp(secret, harness.parse_utc(
                    self.alpha.cli_json("clock", "show")["now"]))}
            status, answer, _ = client.call(method, path, body)
            self.check(method, template, op, status, answer)
            self.assertLess(status, 300, f"{method} {path}: {status} {answer}")
            if template == "/api/v1/session/totp":
                self.enrolment_secret = answer["secret"]

    def test_every_endpoint_refuses_what_it_must(self):
        anonymous = self.alpha.client()
        for method, path, op in operations():
            access = op["x-hotline-access"]
            concrete = (path.replace("{line}", "ab").replace("{id}", "00000000-1")
                        .replace("{draft}", "1").replace("{name}", "ann"))
            with self.subTest(f"{method} {path}"):
                if access != "public":
                    status, answer, _ = anonymous.call(method, concrete,
                                                       {} if method == "POST" else None)
                    self.assertEqual(status, 401, answer)
                    self.check(method, path, op, status, answer)
                if access not in ("public", "session"):
                    refused_user = self.as_user(MAY_NOT[access])
                    status, answer, _ = refused_user.call(method, concrete,
                                                          {} if method == "POST" else None)
                    self.assertEqual(status, 403, answer)
                    self.assertIn(ROLE_OF[MAY_NOT[access]], answer["error"])
                    self.check(method, path, op, status, answer)
                if method in ("POST", "DELETE") and access != "public":
                    user = self.as_user(MAY.get(access, "ann"))
                    status, answer, _ = user.call(method, concrete,
                                                  {} if method == "POST" else None, csrf=False)
                    self.assertEqual(status, 403, answer)
                    self.assertIn("CSRF", answer["error"])
                    self.check(method, path, op, status, answer)
                if method == "POST":
                    user = self.as_user(MAY.get(access, "ann")) if access != "public" else \
                        self.alpha.client()
                    status, answer, _ = user.call(method, concrete, raw=b"{not json")
                    self.assertEqual(status, 400, answer)
                    self.check(method, path, op, status, answer)
                    status, answer, _ = user.call(method, concrete,
                                                  raw=b'{"x": "' + b"y" * 120_000 + b'"}')
                    self.assertEqual(status, 413, answer)
                    self.check(method, path, op, status, answer)

    def test_the_request_list_filters_by_state_direction_kind_and_finality(self):
        incoming = self.incoming_request("filter me")
        ann = self.as_user("ann")
        outgoing = ann.must("POST", "/api/v1/lines/ab/requests",
                            {"kind": "written", "topic": "mine", "precedence": "PRIORITY"})["id"]
        ann.must("POST", f"/api/v1/lines/ab/requests/{outgoing}/withdraw", {})

        def ids(query):
            answer = self.as_user("otto").must("GET", "/api/v1/lines/ab/requests" + query)
            return {r["id"] for r in answer["requests"]}, answer["requests"]
        every, _ = ids("")
        self.assertTrue({incoming, outgoing} <= every)
        found, rows = ids("?direction=incoming")
        self.assertIn(incoming, found)
        self.assertNotIn(outgoing, found)
        self.assertTrue(all(r["direction"] == "incoming" for r in rows))
        found, rows = ids("?state=withdrawn&kind=written&precedence=PRIORITY")
        self.assertIn(outgoing, found)
        self.assertTrue(all(r["state"] == "withdrawn" for r in rows))
        found, _ = ids("?final=false&direction=outgoing")
        self.assertNotIn(outgoing, found)
        found, _ = ids("?final=true")
        self.assertIn(outgoing, found)
        self.assertNotIn(incoming, found)
        for query, named in (("?state=lost", "state"), ("?direction=up", "direction"),
                             ("?final=yes", "final")):
            status, answer, _ = self.as_user("otto").call("GET",
                                                          "/api/v1/lines/ab/requests" + query)
            self.assertEqual(status, 400, query)
            self.assertIn(f"'{named}'", answer["error"])

    def test_a_malformed_field_is_named(self):
        ann = self.as_user("ann")
        cases = [
            ("/api/v1/lines/ab/requests", {"kind": "call"}, "topic"),
            ("/api/v1/lines/ab/requests", {"kind": "phone", "topic": "x"}, "kind"),
            ("/api/v1/lines/ab/requests", {"kind": "call", "topic": 7}, "topic"),
            ("/api/v1/lines/ab/messages", {"text": ""}, "text"),
            ("/api/v1/lines/ab/messages", {"text": "x", "precedence": "URGENT"}, "precedence"),
            ("/api/v1/session", {"user": "ann"}, "password"),
        ]
        for path, body, field in cases:
            client = self.alpha.client() if path == "/api/v1/session" else ann
            status, answer, _ = client.call("POST", path, body)
            self.assertEqual(status, 400, f"{path} {body}: {answer}")
            self.assertIn(f"'{field}'", answer["error"], f"{path} {body}")
        admin = self.as_user("adam")
        status, answer, _ = admin.call("POST", "/api/v1/users",
                                       {"name": "shorty", "role": "operator", "password": "short"})
        self.assertEqual(status, 400)
        self.assertIn("'password'", answer["error"])


if __name__ == "__main__":
    unittest.main()
