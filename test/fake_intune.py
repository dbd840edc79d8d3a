#!/usr/bin/env python3
"""A local Microsoft Intune for scepd's challenge_mode "intune" tests.

Speaks the wire format of Microsoft's Intune SCEP validation libraries
(Intune-Resource-Access) and checks every header and field a client sends:
the Entra ID token endpoint, Microsoft Graph service discovery, the SCEP
validation service (ScepActions) and the PKI connector service (revocation
requests).  One HTTPS server on 127.0.0.1:PORT serves all of them; a
control interface on the same port scripts answers and failures and shows
what happened.  A request that breaks a rule is refused (as described per
endpoint below) and its problems are kept: GET /_control/state lists them,
so a test can assert that a client made none.

usage: fake_intune.py --port PORT --cert PEM --key PEM --tenant TENANT
           --client-id ID [--client-secret-file FILE] [--client-cert PEM]
           [--token-lifetime SECONDS] [--record FILE]

  --port                 TCP port on 127.0.0.1
  --cert, --key          the HTTPS server certificate and key (PEM)
  --tenant               the one tenant that exists (a GUID or a domain)
  --client-id            the one application (client) id that exists
  --client-secret-file   a file holding the client secret (one line)
  --client-cert          a PEM certificate whose key signs client assertions
                         (at least one of the two credentials is needed)
  --token-lifetime       expires_in of the access tokens (default 3599;
                         0 makes every token expired at once)
  --record               append one JSON line per request to FILE

Endpoints (HOST is 127.0.0.1:PORT):

  POST /TENANT/oauth2/v2.0/token  (endpoint name "token")
    application/x-www-form-urlencoded: grant_type=client_credentials,
    client_id, scope = https://graph.microsoft.com/.default or
    https://api.manage.microsoft.com/.default (also with "//.default"),
    and either client_secret or
    client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
    with client_assertion: a JWT with header alg RS256 and x5t (base64url
    SHA-1 of the --client-cert DER), claims aud (https://HOST/TENANT/oauth2/
    v2.0/token), iss = sub = client id, a fresh jti, nbf and exp around
    now (5 minutes of skew, at most a day ahead), signed by the
    certificate's key.  Answers 200 {"token_type": "Bearer", "expires_in":
    N, "ext_expires_in": N, "access_token": "<random>"}; errors as Entra
    words them, {"error", "error_description": "AADSTSnnn: ..."}: unknown
    tenant 400 invalid_request AADSTS90002, not a POST of a form with each
    field once 400 invalid_request AADSTS900144, unknown client 400
    unauthorized_client AADSTS700016, bad scope 400 invalid_scope
    AADSTS70011, bad grant_type 400 unsupported_grant_type AADSTS70003,
    wrong secret 401 invalid_client AADSTS7000215, no credential 401
    invalid_client AADSTS7000218, bad assertion 401 invalid_client
    (AADSTS50027 malformed, AADSTS700027 signature or key, AADSTS700024
    time range, AADSTS700021 issuer or subject, AADSTS700016 audience,
    AADSTS700025 replayed jti).  Each token's audience
    (https://graph.microsoft.com or https://api.manage.microsoft.com) and
    expiry are kept.

  GET /v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints
  GET /v1.0/servicePrincipals(appId='0000000a-0000-0000-c000-000000000000')/endpoints
    (endpoint "discovery")  Bearer token of the Graph audience, else 401
    {"error": {"code": "InvalidAuthenticationToken", "message"}}.  Answers
    {"value": [...]}: Graph endpoint objects (id, capability, providerId,
    providerName, providerResourceId, uri) for ScepRequestValidationFEService
    (https://HOST/RACerts/ScepRequestValidationFEService/Gateway/
    StatelessScepRequestValidationService), PkiConnectorFEService
    (https://HOST/RACerts/StatelessPkiConnectorService/Gateway/
    StatelessPkiConnectorService) and decoys with other names, one of them
    a longer name that starts like the SCEP one; a request to a decoy's uri
    is a problem (404).  A client-request-id, when sent, must be a fresh
    GUID.

  POST SCEPBASE/ScepActions/validateRequest, .../successNotification,
       .../failureNotification  (endpoints named by the last part)
    Headers: Authorization: Bearer <Intune-audience token> (a Graph token,
    an unknown or expired one, or one used again after a 401 is a 401 and
    a problem; the first 401 for a token the fake refused on its own, by
    fail_next unauthorized or expire_tokens, is no problem),
    api-version: 2018-02-20, client-request-id: a GUID not seen before,
    Content-Type: application/json (charset=utf-8 allowed).  Bodies:
      {"request": {"transactionId", "certificateRequest", "callerInfo"}}
      {"notification": {"transactionId", "certificateRequest",
        "certificateThumbprint", "certificateSerialNumber",
        "certificateExpirationDateUtc", "issuingCertificateAuthority",
        "callerInfo", optional "caConfiguration", "certificateAuthority"}}
      {"notification": {"transactionId", "certificateRequest", "hResult"
        (an integer), "errorDescription" (a string of at most 255
        characters), "callerInfo"}}
    certificateRequest: standard base64 (no line breaks) of a DER PKCS#10
    whose self-signature `openssl req -verify` accepts; transactionId,
    callerInfo and issuingCertificateAuthority non-empty strings;
    certificateThumbprint 40 upper-case hex digits; certificateSerialNumber
    upper-case hex digits, no separators; certificateExpirationDateUtc ISO
    8601 UTC ending in "Z" (fraction optional).  A notification needs a
    validateRequest of the same transactionId and certificateRequest that
    was answered Success, and only one notification per such validation.
    Unknown fields are problems.  Answers 200 {"code": "Success",
    "errorDescription": ""} or, for validateRequest and
    successNotification, the scripted code with a description; a
    request that breaks a rule: 400 {"code": "Unknown", "errorDescription":
    <the problems>}.

  POST PKIBASE/CertificateAuthorityRequests/downloadRevocationRequests
    (endpoint "downloadRevocationRequests")  Headers as above but
    api-version: 5019-05-05.  Body {"downloadParameters": {"maxRequests":
    1..500, "issuerName": a string or null}}.  Answers {"value":
    [{"requestContext", "serialNumber", "issuerName", "caConfiguration"}]}:
    the first maxRequests queued requests (of that issuer when named).  A
    downloaded request stays queued, and is downloaded again, until a
    result for it is uploaded.

  POST PKIBASE/CertificateAuthorityRequests/uploadRevocationResults
    (endpoint "uploadRevocationResults")  Body {"results":
    [{"requestContext", "succeeded", "errorCode", "errorMessage"}]}, not
    empty.  errorCode: a known CA request error code as the numeric string
    ("0", "4004") or its name ("None", "CertificateNotFoundError");
    succeeded true goes with 0/None and an empty (or null) errorMessage,
    false with another code; each requestContext must have been downloaded
    and not answered yet, once per upload.  Answers {"value": true}; the
    answered requests leave the queue.  One bad result refuses the whole
    upload (400, nothing taken).

  After {"move_services": true} the previous SCEP and PKI bases close the
  connection without an answer (a transport error): the client has to
  discover again.

Control (no authentication, not delayed, recorded as endpoint "control"):

  POST /_control with a JSON object of any of these keys:
    "validate": {"<transactionId>": "<code>"}   answer for validateRequest
    "default_code": "<code>"            for other transactions (Success)
    "notify_code": {"<transactionId>": "<code>"}  likewise for
                                        successNotification
    "notify_default_code": "<code>"     (Success)
    "delay_ms": N                       every token, Graph and Intune call
                                        waits N ms before it is handled
    "fail_next": {"<endpoint>": "<how>"}  the next call of each named
        endpoint (token, discovery, validateRequest, successNotification,
        failureNotification, downloadRevocationRequests,
        uploadRevocationResults) fails once, with no other effect, as:
        http500, http503 (Retry-After: 1), close (connection closed, no
        answer), garbage (200, not JSON), badjson (200, JSON of the wrong
        shape), unauthorized (401; the token it carried is refused from
        then on, so the client must get a new one; at the token endpoint
        a 401 invalid_client)
    "move_services": true               new SCEP and PKI bases
    "drop_scep_service": true|false     discovery leaves out (or again
                                        lists) ScepRequestValidationFEService,
                                        as when permission is missing
    "drop_pki_service": true|false      likewise PkiConnectorFEService
    "deny_discovery": true|false        discovery answers 403
                                        Authorization_RequestDenied
    "token_lifetime": N                 expires_in of new tokens
    "expire_tokens": true               every token issued so far is
                                        refused once (401, not a problem)
    "revoke": [{"serialNumber", "issuerName", "caConfiguration",
                optional "requestContext"}]  queue revocation requests
    "settle": true                      answer only when no other call is
                                        being handled (a delayed call of an
                                        earlier case would take a fail_next
                                        meant for the next); 503 after 30 s
    "reset": true                       back to the start: codes, failures,
        delay, token lifetime, flags, counts, problems, validations,
        queue, uploads and the default bases (a moved base given up stays
        closed); tokens stay valid.  Applied before the other keys.
    Codes are the validation error codes: Success, Unknown,
    CertificateRequestDecodingFailed, ChallengePasswordMissing, ... (CODES
    below).  Answers 200 {"ok": true}, or 400 {"error"} naming a bad key.

  GET /_control/state answers
    {"counts": {endpoint: calls}, "tokens_issued": {audience: n},
     "uploads": [{"requestContext", "serialNumber", "issuerName",
       "caConfiguration", "succeeded", "errorCode", "errorMessage"}],
     "queued": n, "problems": ["<endpoint>: <text>", ...],
     "notifications": [{"endpoint", "notification"}],
     "scep_base", "pki_base", "in_flight": calls being handled}
    counts has every endpoint above, plus "decoy", "moved" (calls to an
    old base) and "unknown".

Record (--record): one JSON object a line, in the order answered:
  {"endpoint", "method", "path", "headers": {lower-cased name: value},
   "body": the parsed JSON, the form as {field: value} (a list when
   repeated), the text when it parses as neither, or null,
   "problems": [...], "status": the HTTP status or null when the
   connection was closed unanswered, "injected": the fail_next way or
   "moved", else null}
  The bearer token ("Bearer ***"), client_secret and client_assertion
  ("***") are masked.
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GRAPH = "https://graph.microsoft.com"
INTUNE = "https://api.manage.microsoft.com"
SCOPES = {
    GRAPH + "/.default": GRAPH,
    INTUNE + "/.default": INTUNE,
    INTUNE + "//.default": INTUNE,
}
INTUNE_APP = "0000000a-0000-0000-c000-000000000000"
DISCOVERY_PATHS = (
    "/v1.0/servicePrincipals/appId=%s/endpoints" % INTUNE_APP,
    "/v1.0/servicePrincipals(appId='%s')/endpoints" % INTUNE_APP,
)
SCEP_BASE = ("/RACerts/ScepRequestValidationFEService/Gateway/"
             "StatelessScepRequestValidationService")
PKI_BASE = ("/RACerts/StatelessPkiConnectorService/Gateway/"
            "StatelessPkiConnectorService")
SCEP_VERSION = "2018-02-20"
PKI_VERSION = "5019-05-05"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCEP_ACTIONS = ("validateRequest", "successNotification",
                "failureNotification")
PKI_ACTIONS = ("downloadRevocationRequests", "uploadRevocationResults")
ENDPOINTS = ("token", "discovery") + SCEP_ACTIONS + PKI_ACTIONS
HOWS = ("http500", "http503", "close", "garbage", "badjson", "unauthorized")
CODES = (
    "Unknown", "Success", "CertificateRequestDecodingFailed",
    "ChallengePasswordMissing", "ChallengeDeserializationError",
    "ChallengeDecryptionError", "ChallengeDecodingError",
    "ChallengeInvalidTimestamp", "ChallengeExpired", "SubjectNameMissing",
    "SubjectNameMismatch", "SubjectAltNameMissing", "SubjectAltNameMismatch",
    "KeyUsageMismatch", "KeyLengthMismatch", "EnhancedKeyUsageMissing",
    "EnhancedKeyUsageMismatch", "AadKeyIdentifierListMissing",
    "RegisteredKeyMismatch", "SigningCertThumbprintMismatch",
    "ScepProfileNoLongerTargetedToTheClient", "SignatureValidationFailed",
    "BadCertificateRequestIdInChallenge", "BadDeviceIdInChallenge",
    "BadUserIdInChallenge",
)
# CA request error codes of the revocation results: number and name.
CA_ERRORS = {
    0: "None", 4000: "NonRetryableServiceException",
    4001: "DataSerializationError", 4002: "ParameterDataInvalidError",
    4003: "CryptographyError", 4004: "CertificateNotFoundError",
    4005: "ConflictError", 4006: "NotSupportedError",
    4007: "PayloadTooLargeError", 4100: "RetryableServiceException",
    4101: "ServiceUnavailableException", 4102: "ServiceTooBusyException",
    4103: "AuthenticationException",
}
# What "badjson" answers: valid JSON, but not what the endpoint promises.
BAD_SHAPES = {
    "token": {"token_type": "Bearer", "expires_in": "soon",
              "access_token": 12345},
    "discovery": {"value": [{"providerName":
                             "ScepRequestValidationFEService", "uri": 42}]},
    "validateRequest": {"code": True, "errorDescription": None},
    "successNotification": {"code": ["Success"]},
    "failureNotification": {"value": "Success"},
    "downloadRevocationRequests": {"value": [{"requestContext": 7}]},
    "uploadRevocationResults": {"value": "true"},
}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                  r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
B64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|"
                 r"[A-Za-z0-9+/]{3}=)?$")
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$")
SKEW = 300

args = None
lock = threading.Lock()
record_lock = threading.Lock()
# Calls other than _control being handled, for "settle".
idle = threading.Condition()
in_flight = 0
# Tokens, client-request-ids and jtis outlive a reset: a client keeps its
# tokens across test cases, and a reused id is a reuse whenever it happens.
# access token -> {"aud", "exp", "refused", "told", "told_at"}: told is
# when a 401 said so; a call that arrived before that (and waited out a
# delay) was made with a good token.
tokens = {}
request_ids = set()
jtis = set()
client_cert = None	# {"x5t", "pubkey"} of --client-cert
client_secret = None
st = {}


class Reply(Exception):
    """An answer decided before the endpoint's work is done."""

    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def fresh_state():
    return {
        "validate": {}, "default_code": "Success",
        "notify_code": {}, "notify_default_code": "Success",
        "delay_ms": 0, "fail_next": {},
        "scep_base": SCEP_BASE, "pki_base": PKI_BASE, "old_bases": set(),
        "moves": 0, "drop_scep": False, "drop_pki": False, "deny": False,
        "token_lifetime": args.token_lifetime,
        "counts": dict.fromkeys(ENDPOINTS + ("decoy", "moved", "unknown"),
                                0),
        "tokens_issued": {GRAPH: 0, INTUNE: 0},
        "problems": [],
        "validated": {},	# transactionId -> CSR of a Success answer
        "queue": [],		# revocation requests not answered yet
        "downloaded": set(),	# their requestContexts that were downloaded
        "uploads": [], "notifications": [],
    }


def openssl(argv, data=None):
    p = subprocess.run(["openssl"] + argv, input=data, capture_output=True,
                       check=False)
    return p.returncode, p.stdout, p.stderr


def b64url_decode(s):
    if not isinstance(s, str) or not re.match(r"^[A-Za-z0-9_-]*$", s):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_client_cert(path):
    rc, der, err = openssl(["x509", "-in", path, "-outform", "DER"])
    if rc != 0:
        sys.exit("fake_intune: cannot read %s: %s" % (path, err.decode()))
    rc, pub, err = openssl(["x509", "-in", path, "-noout", "-pubkey"])
    if rc != 0:
        sys.exit("fake_intune: no public key in %s" % path)
    return {"x5t": b64url(hashlib.sha1(der).digest()), "pubkey": pub}


def rs256_ok(pubkey_pem, signed, signature):
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for name, data in (("pub", pubkey_pem), ("sig", signature)):
            paths[name] = os.path.join(d, name)
            with open(paths[name], "wb") as f:
                f.write(data)
        rc, out, _ = openssl(["dgst", "-sha256", "-verify", paths["pub"],
                              "-signature", paths["sig"]], signed)
    return rc == 0 and b"Verified OK" in out


def csr_ok(der):
    # openssl 3.0 exits 0 even when the self-signature is bad: read its words.
    rc, _, err = openssl(["req", "-inform", "DER", "-verify", "-noout"], der)
    return rc == 0 and b"verify OK" in err


def aad(status, error, text):
    """Answer as Entra ID does: TEXT starts with its AADSTS code."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%SZ")
    trace = str(uuid.uuid4())
    raise Reply(status, {
        "error": error,
        "error_description": "%s\r\nTrace ID: %s\r\nCorrelation ID: %s"
        "\r\nTimestamp: %s" % (text, trace, uuid.uuid4(), now),
        "error_codes": [int(re.match(r"AADSTS(\d+)", text).group(1))],
        "timestamp": now, "trace_id": trace,
        "correlation_id": str(uuid.uuid4())})


def graph_error(status, code, message):
    raise Reply(status, {"error": {"code": code, "message": message,
                                   "innerError": {
                                       "request-id": str(uuid.uuid4())}}})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-intune"

    def log_message(self, fmt, *a):
        sys.stderr.write("fake_intune: " + (fmt % a) + "\n")

    # --- plumbing --------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(n)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def problem(self, text):
        self.problems.append(text)

    def send(self, status, body, headers=None):
        if isinstance(body, (bytes, str)):
            data = body if isinstance(body, bytes) else body.encode()
            ctype = "text/html"
        else:
            data = json.dumps(body).encode()
            ctype = "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.status = status

    def drop(self):
        """Close the connection without an answer."""
        self.close_connection = True
        self.status = None

    def masked_headers(self):
        h = {}
        for k, v in self.headers.items():
            k = k.lower()
            if k == "authorization":
                v = re.sub(r"^(\S+\s+).*$", r"\1***", v)
            h[k] = v
        return h

    def record(self):
        if self.endpoint != "control":
            with lock:
                st["problems"].extend("%s: %s" % (self.endpoint, p)
                                      for p in self.problems)
        if not args.record:
            return
        body = self.doc
        if isinstance(body, dict) and self.endpoint == "token":
            body = {k: ("***" if k in ("client_secret", "client_assertion")
                        else v) for k, v in body.items()}
        line = json.dumps({"endpoint": self.endpoint, "method": self.command,
                           "path": self.path,
                           "headers": self.masked_headers(), "body": body,
                           "problems": self.problems, "status": self.status,
                           "injected": self.injected})
        with record_lock, open(args.record, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def handle_any(self):
        self.arrived = time.monotonic()
        self.problems = []
        self.status = None
        self.injected = None
        self.doc = None
        self.raw = self.read_body()
        path = urllib.parse.urlsplit(self.path).path
        self.endpoint, action = self.route(path)
        busy = self.endpoint != "control"
        if busy:
            self.count_in_flight(1)
        try:
            self.dispatch(action)
        except Reply as r:
            if r.status is not None:
                self.send(r.status, r.body, r.headers)
        finally:
            if busy:
                self.count_in_flight(-1)
        self.record()

    @staticmethod
    def count_in_flight(n):
        global in_flight
        with idle:
            in_flight += n
            idle.notify_all()

    def route(self, path):
        """The endpoint name of PATH and what to do with it."""
        if path == "/_control" or path.startswith("/_control/"):
            return "control", self.control
        m = re.match(r"^/([^/]+)/oauth2/v2\.0/token$", path)
        if m:
            return "token", self.token
        if path in DISCOVERY_PATHS:
            return "discovery", self.discovery
        with lock:
            bases = ((st["scep_base"], "/ScepActions/", SCEP_ACTIONS),
                     (st["pki_base"], "/CertificateAuthorityRequests/",
                      PKI_ACTIONS))
            old = set(st["old_bases"])
        for base, mid, actions in bases:
            for a in actions:
                if path == base + mid + a:
                    return a, getattr(self, a)
        for base in old:
            if path.startswith(base + "/"):
                return "moved", None
        if path.startswith("/RACerts/Decoy"):
            return "decoy", None
        return "unknown", None

    def dispatch(self, action):
        ep = self.endpoint
        if ep == "control":
            self.doc = self.parse_json(quiet=True)
            action()
            return
        with lock:
            st["counts"][ep] += 1
            delay = st["delay_ms"]
        if ep == "moved":
            self.injected = "moved"
            self.drop()
            return
        if action is None:
            self.doc = self.raw.decode("utf-8", "replace") or None
            self.problem("no such endpoint: %s %s" % (self.command,
                                                       self.path))
            raise Reply(404, {"error": {"code": "NotFound",
                                        "message": "no such endpoint"}})
        if delay:
            time.sleep(delay / 1000.0)
        action()

    def injection(self):
        """The fail_next way scripted for this endpoint, taken once."""
        with lock:
            how = st["fail_next"].pop(self.endpoint, None)
        self.injected = how
        return how

    def inject(self, how, token=None):
        if how == "close":
            self.drop()
            raise Reply(None, None)
        if how == "http500":
            raise Reply(500, {"code": "Unknown",
                              "errorDescription": "internal server error"})
        if how == "http503":
            raise Reply(503, {"code": "Unknown",
                              "errorDescription": "service unavailable"},
                        {"Retry-After": "1"})
        if how == "garbage":
            raise Reply(200, "<html><body>Service Unavailable</body></html>")
        if how == "badjson":
            raise Reply(200, BAD_SHAPES[self.endpoint])
        if how == "unauthorized":
            if self.endpoint == "token":
                aad(401, "invalid_client", "AADSTS7000215: Invalid client "
                    "secret provided. Ensure the secret being sent in the "
                    "request is the client secret value, not the client "
                    "secret ID.")
            with lock:
                if token in tokens:
                    tokens[token]["refused"] = tokens[token]["told"] = True
                    tokens[token]["told_at"] = time.monotonic()
            self.unauthorized("the token has been revoked")

    def parse_json(self, quiet=False):
        try:
            doc = json.loads(self.raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self.doc = self.raw.decode("utf-8", "replace") or None
            if not quiet:
                self.problem("body is not JSON: %s" % e)
            return None
        self.doc = doc
        return doc

    # --- checks shared by the Intune calls --------------------------------

    def unauthorized(self, why):
        if self.endpoint == "discovery":
            graph_error(401, "InvalidAuthenticationToken", why)
        raise Reply(401, {"code": "Unknown",
                          "errorDescription": "Unauthorized: " + why},
                    {"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def bearer(self, audience):
        """The access token of the request; a 401 when it will not do."""
        m = re.match(r"^Bearer ([^ ]+)$",
                     self.headers.get("Authorization", ""))
        if not m:
            self.problem("no Authorization: Bearer header")
            self.unauthorized("no bearer token")
        token = m.group(1)
        with lock:
            t = tokens.get(token)
            if t is None:
                why = "unknown token"
            elif t["told"] and t["told_at"] <= self.arrived:
                why = "token used again after it was refused"
            elif t["told"]:
                return token
            elif t["refused"]:
                t["told"] = True
                t["told_at"] = time.monotonic()
                why = None
                self.unauthorized("the token has been revoked")
            elif t["exp"] <= time.monotonic():
                t["told"] = True
                t["told_at"] = time.monotonic()
                why = "token used after it expired"
            elif t["aud"] != audience:
                why = "token of audience %s, not %s" % (t["aud"], audience)
            else:
                return token
        self.problem(why)
        self.unauthorized(why)

    def request_id(self, required):
        rid = self.headers.get("client-request-id")
        if rid is None:
            if required:
                self.problem("no client-request-id header")
            return
        if not GUID.match(rid):
            self.problem("client-request-id %r is not a GUID" % rid)
            return
        with lock:
            seen = rid.lower() in request_ids
            request_ids.add(rid.lower())
        if seen:
            self.problem("client-request-id %s used before" % rid)

    def intune_headers(self, version):
        if self.headers.get_all("api-version") != [version]:
            self.problem("api-version %r, want %s" %
                         (self.headers.get_all("api-version"), version))
        self.request_id(True)
        ctype = self.headers.get("Content-Type", "")
        parts = [p.strip().lower() for p in ctype.split(";")]
        if parts[0] != "application/json" or \
                any(p not in ("charset=utf-8", "charset=\"utf-8\"")
                    for p in parts[1:]):
            self.problem("Content-Type %r, want application/json" % ctype)
        if self.command != "POST":
            self.problem("method %s, want POST" % self.command)

    def fields(self, doc, outer, required, optional=()):
        """DOC's object under OUTER ({} when DOC is not {OUTER: {...}}),
        with a problem for each REQUIRED field missing and each field in
        neither REQUIRED nor OPTIONAL."""
        if not isinstance(doc, dict) or set(doc) != {outer} or \
                not isinstance(doc[outer], dict):
            self.problem("body is not {\"%s\": {...}}" % outer)
            return {}
        obj = doc[outer]
        for k in required:
            if k not in obj:
                self.problem("%s.%s missing" % (outer, k))
        for k in obj:
            if k not in required and k not in optional:
                self.problem("unknown field %s.%s" % (outer, k))
        return obj

    def string(self, obj, name, pattern=None, empty=False, limit=None,
               null=False):
        """OBJ[NAME] when it is a string; a problem when it is not, is empty
        (unless EMPTY), does not match PATTERN or is over LIMIT long.  A
        missing field is left to fields(); NULL allows null."""
        v = obj.get(name)
        if name not in obj or (null and v is None):
            return None
        if not isinstance(v, str):
            self.problem("%s is not a string: %r" % (name, v))
            return None
        if not empty and v == "":
            self.problem("%s is empty" % name)
        elif pattern and not re.match(pattern, v):
            self.problem("%s %r is not in the expected form" % (name, v))
        if limit is not None and len(v) > limit:
            self.problem("%s is longer than %d characters" % (name, limit))
        return v

    def csr(self, obj):
        v = self.string(obj, "certificateRequest")
        if not v:
            return v
        if not B64.match(v):
            self.problem("certificateRequest is not standard base64 "
                         "(one line, padded)")
            return v
        if not csr_ok(base64.b64decode(v)):
            self.problem("certificateRequest is not a DER PKCS#10 with a "
                         "good self-signature")
        return v

    def intune_call(self, version):
        """Common start of a ScepActions or revocation call: the body, after
        the token, headers and any scripted failure."""
        doc = self.parse_json()
        # Headers first: a refused call's client-request-id counts as used.
        self.intune_headers(version)
        self.authorized(INTUNE)
        return doc

    def authorized(self, audience):
        """The bearer check, then any scripted failure (which wins over a
        401 of the check)."""
        try:
            token = self.bearer(audience)
        except Reply:
            how = self.injection()
            if how:
                self.inject(how)
            raise
        how = self.injection()
        if how:
            self.inject(how, token)

    def refuse_if_problems(self):
        if self.problems:
            raise Reply(400, {"code": "Unknown",
                              "errorDescription": "; ".join(self.problems)})

    # --- token ------------------------------------------------------------

    def token(self):
        tenant = urllib.parse.urlsplit(self.path).path.split("/")[1]
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            form = urllib.parse.parse_qs(self.raw.decode("ascii"),
                                         keep_blank_values=True,
                                         strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            form = {}
            self.problem("body is not a form")
        self.doc = {k: (v[0] if len(v) == 1 else v)
                    for k, v in form.items()} if form else \
            (self.raw.decode("utf-8", "replace") or None)
        how = self.injection()
        if how:
            self.inject(how)
        if self.command != "POST":
            self.problem("method %s, want POST" % self.command)
        if ctype.lower() != "application/x-www-form-urlencoded":
            self.problem("Content-Type %r, want "
                         "application/x-www-form-urlencoded" % ctype)
        for k, v in form.items():
            if len(v) > 1:
                self.problem("form field %s given %d times" % (k, len(v)))
        f = {k: v[0] for k, v in form.items()}
        if self.problems:
            aad(400, "invalid_request", "AADSTS900144: The request body must "
                "be a form of each parameter once: %s." %
                "; ".join(self.problems))
        if tenant != args.tenant:
            self.problem("unknown tenant %s" % tenant)
            aad(400, "invalid_request", "AADSTS90002: Tenant '%s' not found. "
                "Check to make sure you have the correct tenant ID and are "
                "signing into the correct cloud." % tenant)
        if f.get("grant_type") != "client_credentials":
            self.problem("grant_type %r" % f.get("grant_type"))
            aad(400, "unsupported_grant_type", "AADSTS70003: The app "
                "requested an unsupported grant type '%s'." %
                f.get("grant_type"))
        if f.get("client_id") != args.client_id:
            self.problem("unknown client_id %r" % f.get("client_id"))
            aad(400, "unauthorized_client", "AADSTS700016: Application with "
                "identifier '%s' was not found in the directory '%s'." %
                (f.get("client_id"), tenant))
        audience = SCOPES.get(f.get("scope"))
        if audience is None:
            self.problem("scope %r" % f.get("scope"))
            aad(400, "invalid_scope", "AADSTS70011: The provided request "
                "must include a 'scope' input parameter. The provided value "
                "for the input parameter 'scope' is not valid.")
        has_secret = "client_secret" in f
        has_assertion = "client_assertion" in f or \
            "client_assertion_type" in f
        if has_secret and has_assertion:
            self.problem("both client_secret and client_assertion")
            aad(400, "invalid_request", "AADSTS50027: Only one credential "
                "type should be provided: client_secret or "
                "client_assertion.")
        if has_secret:
            if client_secret is None or f["client_secret"] != client_secret:
                self.problem("wrong client_secret")
                aad(401, "invalid_client", "AADSTS7000215: Invalid client "
                    "secret provided. Ensure the secret being sent in the "
                    "request is the client secret value, not the client "
                    "secret ID, for a secret added to app '%s'." %
                    args.client_id)
        elif has_assertion:
            self.assertion(f, tenant)
        else:
            self.problem("no client credential")
            aad(401, "invalid_client", "AADSTS7000218: The request body "
                "must contain the following parameter: 'client_assertion' "
                "or 'client_secret'.")
        token = secrets.token_urlsafe(48)
        with lock:
            life = st["token_lifetime"]
            tokens[token] = {"aud": audience, "refused": False,
                             "told": False, "told_at": 0.0,
                             "exp": time.monotonic() + life}
            st["tokens_issued"][audience] += 1
        raise Reply(200, {"token_type": "Bearer", "expires_in": life,
                          "ext_expires_in": life, "access_token": token})

    def bad_assertion(self, code, why):
        self.problem("client_assertion: " + why)
        aad(401, "invalid_client", "AADSTS%d: %s" % (code, why))

    def assertion(self, f, tenant):
        if f.get("client_assertion_type") != ASSERTION_TYPE:
            self.problem("client_assertion_type %r" %
                         f.get("client_assertion_type"))
            aad(400, "invalid_request", "AADSTS50027: client_assertion_type "
                "must be %s." % ASSERTION_TYPE)
        if client_cert is None:
            self.bad_assertion(700027, "no certificate is registered for "
                               "this application")
        parts = f.get("client_assertion", "").split(".")
        try:
            if len(parts) != 3:
                raise ValueError("not three parts")
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            sig = b64url_decode(parts[2])
            if not isinstance(header, dict) or not isinstance(claims, dict):
                raise ValueError("not JSON objects")
        except ValueError as e:
            self.bad_assertion(50027, "JWT token is invalid or malformed "
                               "(%s)." % e)
        if header.get("alg") != "RS256":
            self.bad_assertion(700027, "alg %r, want RS256" %
                               header.get("alg"))
        if header.get("x5t") != client_cert["x5t"]:
            self.bad_assertion(700027, "Client assertion contains an "
                               "invalid signature. [Reason - The key was "
                               "not found., Thumbprint of key used by "
                               "client: '%s']" % header.get("x5t"))
        if not rs256_ok(client_cert["pubkey"],
                        (parts[0] + "." + parts[1]).encode(), sig):
            self.bad_assertion(700027, "Client assertion failed signature "
                               "validation.")
        want_aud = "https://127.0.0.1:%d/%s/oauth2/v2.0/token" % \
            (args.port, tenant)
        if claims.get("aud") != want_aud:
            self.bad_assertion(700016, "aud %r, want %s" %
                               (claims.get("aud"), want_aud))
        if claims.get("iss") != args.client_id or \
                claims.get("sub") != args.client_id:
            self.bad_assertion(700021, "Client assertion application "
                               "identifier doesn't match 'client_id' "
                               "parameter (iss %r, sub %r)." %
                               (claims.get("iss"), claims.get("sub")))
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            self.bad_assertion(50027, "jti missing")
        now = time.time()
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                   for x in (nbf, exp)) or nbf > now + SKEW or \
                exp < now - SKEW or exp > now + 86400 or exp <= nbf:
            self.bad_assertion(700024, "Client assertion is not within its "
                               "valid time range (nbf %r, exp %r, now %d)."
                               % (nbf, exp, now))
        with lock:
            seen = jti in jtis
            jtis.add(jti)
        if seen:
            self.bad_assertion(700025, "jti %s used before" % jti)

    # --- discovery --------------------------------------------------------

    def discovery(self):
        self.doc = self.raw.decode("utf-8", "replace") or None
        if self.command != "GET":
            self.problem("method %s, want GET" % self.command)
        self.request_id(False)
        self.authorized(GRAPH)
        if self.problems:
            graph_error(400, "BadRequest", "; ".join(self.problems))
        with lock:
            deny, drop_scep, drop_pki = st["deny"], st["drop_scep"], \
                st["drop_pki"]
            scep, pki = st["scep_base"], st["pki_base"]
        if deny:
            graph_error(403, "Authorization_RequestDenied",
                        "Insufficient privileges to complete the operation.")
        host = "https://127.0.0.1:%d" % args.port
        entries = [
            ("IntuneAppPolicyFEService", "/RACerts/Decoy/AppPolicy"),
            ("ScepRequestValidationFEServiceLegacy",
             "/RACerts/Decoy/LegacyScepValidation"),
        ]
        if not drop_scep:
            entries.append(("ScepRequestValidationFEService", scep))
        entries.append(("DeviceManagementFEService",
                        "/RACerts/Decoy/DeviceManagement"))
        if not drop_pki:
            entries.append(("PkiConnectorFEService", pki))
        entries.append(("RACerts", "/RACerts/Decoy/RACerts"))
        value = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                  "capability": name, "providerId": None,
                  "providerName": name, "providerResourceId": None,
                  "uri": host + base} for name, base in entries]
        raise Reply(200, {"@odata.context": GRAPH + "/v1.0/$metadata#"
                          "servicePrincipals('%s')/endpoints" % INTUNE_APP,
                          "value": value})

    # --- ScepActions ------------------------------------------------------

    def scripted(self, table, default, tid):
        with lock:
            code = st[table].get(tid, st[default])
        desc = "" if code == "Success" else \
            "%s (scripted for transaction %s)" % (code, tid)
        return {"code": code, "errorDescription": desc}

    def validateRequest(self):
        doc = self.intune_call(SCEP_VERSION)
        obj = self.fields(doc, "request", ("transactionId",
                                           "certificateRequest",
                                           "callerInfo"))
        tid = self.string(obj, "transactionId")
        csr = self.csr(obj)
        self.string(obj, "callerInfo")
        self.refuse_if_problems()
        answer = self.scripted("validate", "default_code", tid)
        with lock:
            if answer["code"] == "Success":
                st["validated"][tid] = csr
            else:
                st["validated"].pop(tid, None)
        raise Reply(200, answer)

    def notification(self, required, optional=()):
        """Checks shared by both notifications; the transactionId."""
        doc = self.intune_call(SCEP_VERSION)
        obj = self.fields(doc, "notification",
                          ("transactionId", "certificateRequest",
                           "callerInfo") + required, optional)
        tid = self.string(obj, "transactionId")
        csr = self.csr(obj)
        self.string(obj, "callerInfo")
        with lock:
            known = st["validated"].get(tid)
        if tid and csr and known is None:
            self.problem("transaction %s has no validation answered Success "
                         "(or was notified already)" % tid)
        elif tid and csr and known != csr:
            self.problem("certificateRequest differs from the one validated "
                         "for transaction %s" % tid)
        return obj, tid

    def took(self, obj, tid):
        with lock:
            st["validated"].pop(tid, None)
            st["notifications"].append({"endpoint": self.endpoint,
                                        "notification": obj})

    def successNotification(self):
        obj, tid = self.notification(
            ("certificateThumbprint", "certificateSerialNumber",
             "certificateExpirationDateUtc", "issuingCertificateAuthority"),
            ("caConfiguration", "certificateAuthority"))
        self.string(obj, "certificateThumbprint", r"^[0-9A-F]{40}$")
        self.string(obj, "certificateSerialNumber", r"^[0-9A-F]+$")
        exp = self.string(obj, "certificateExpirationDateUtc", ISO_UTC)
        if exp and ISO_UTC.match(exp):
            try:
                datetime.datetime.strptime(exp[:19], "%Y-%m-%dT%H:%M:%S")
            except ValueError:
                self.problem("certificateExpirationDateUtc %r is no date"
                             % exp)
        self.string(obj, "issuingCertificateAuthority")
        for k in ("caConfiguration", "certificateAuthority"):
            self.string(obj, k, empty=True, null=True)
        self.refuse_if_problems()
        self.took(obj, tid)
        raise Reply(200, self.scripted("notify_code", "notify_default_code",
                                       tid))

    def failureNotification(self):
        obj, tid = self.notification(("hResult", "errorDescription"))
        h = obj.get("hResult")
        if "hResult" in obj and (not isinstance(h, int) or
                                 isinstance(h, bool) or
                                 not -2**31 <= h < 2**32):
            self.problem("hResult is not a 32-bit integer: %r" % h)
        self.string(obj, "errorDescription", limit=255)
        self.refuse_if_problems()
        self.took(obj, tid)
        raise Reply(200, {"code": "Success", "errorDescription": ""})

    # --- revocation -------------------------------------------------------

    def downloadRevocationRequests(self):
        doc = self.intune_call(PKI_VERSION)
        obj = self.fields(doc, "downloadParameters",
                          ("maxRequests", "issuerName"))
        n = obj.get("maxRequests")
        if "maxRequests" in obj and (not isinstance(n, int) or
                                     isinstance(n, bool) or
                                     not 1 <= n <= 500):
            self.problem("maxRequests %r is not in 1..500" % n)
        issuer = self.string(obj, "issuerName", null=True)
        self.refuse_if_problems()
        with lock:
            out = [q for q in st["queue"]
                   if issuer is None or q["issuerName"] == issuer][:n]
            st["downloaded"].update(q["requestContext"] for q in out)
        raise Reply(200, {"value": out})

    def error_code(self, r, i):
        """Result I's errorCode as a number, None when it is no known code."""
        v = r.get("errorCode")
        if isinstance(v, str):
            if re.match(r"^\d+$", v) and int(v) in CA_ERRORS:
                return int(v)
            for num, name in CA_ERRORS.items():
                if v == name:
                    return num
        self.problem("results[%d].errorCode %r is no known code (a numeric "
                     "string or a name)" % (i, v))
        return None

    def uploadRevocationResults(self):
        doc = self.intune_call(PKI_VERSION)
        results = doc.get("results") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or set(doc) != {"results"} or \
                not isinstance(results, list) or not results:
            self.problem("body is not {\"results\": [...]} with results")
            results = []
        with lock:
            queued = {q["requestContext"]: q for q in st["queue"]}
            downloaded = set(st["downloaded"])
        taken = []
        for i, r in enumerate(results):
            if not isinstance(r, dict):
                self.problem("results[%d] is not an object" % i)
                continue
            want = ("requestContext", "succeeded", "errorCode",
                    "errorMessage")
            for k in want:
                if k not in r:
                    self.problem("results[%d].%s missing" % (i, k))
            for k in r:
                if k not in want:
                    self.problem("unknown field results[%d].%s" % (i, k))
            ctx = r.get("requestContext")
            if ctx not in queued or ctx not in downloaded:
                self.problem("results[%d].requestContext %r was not "
                             "downloaded or is answered already" % (i, ctx))
            elif ctx in (t["requestContext"] for t in taken):
                self.problem("results[%d].requestContext given twice" % i)
            ok = r.get("succeeded")
            if not isinstance(ok, bool):
                self.problem("results[%d].succeeded is not a boolean" % i)
            code = self.error_code(r, i)
            msg = r.get("errorMessage")
            if msg is not None and not isinstance(msg, str):
                self.problem("results[%d].errorMessage is not a string" % i)
            if ok is True and (code not in (0, None) or msg):
                self.problem("results[%d] succeeded with errorCode %r, "
                             "errorMessage %r" % (i, r.get("errorCode"),
                                                  msg))
            if ok is False and code == 0:
                self.problem("results[%d] failed with errorCode None" % i)
            if ctx in queued:
                taken.append(dict(queued[ctx], succeeded=ok,
                                  errorCode=r.get("errorCode"),
                                  errorMessage=msg))
        self.refuse_if_problems()
        with lock:
            done = {t["requestContext"] for t in taken}
            st["queue"] = [q for q in st["queue"]
                           if q["requestContext"] not in done]
            st["downloaded"] -= done
            st["uploads"].extend(taken)
        raise Reply(200, {"value": True})

    # --- control ----------------------------------------------------------

    def control(self):
        path = urllib.parse.urlsplit(self.path).path
        if self.command == "GET" and path == "/_control/state":
            with lock:
                raise Reply(200, {
                    "counts": st["counts"],
                    "tokens_issued": st["tokens_issued"],
                    "uploads": st["uploads"], "queued": len(st["queue"]),
                    "problems": st["problems"],
                    "notifications": st["notifications"],
                    "scep_base": st["scep_base"],
                    "pki_base": st["pki_base"], "in_flight": in_flight})
        if self.command != "POST" or path != "/_control":
            raise Reply(404, {"error": "GET /_control/state or "
                              "POST /_control"})
        doc = self.doc
        if not isinstance(doc, dict):
            raise Reply(400, {"error": "body is not a JSON object"})
        try:
            check_control(doc)
        except ValueError as e:
            raise Reply(400, {"error": str(e)})
        if doc.get("settle"):
            with idle:
                if not idle.wait_for(lambda: in_flight == 0, timeout=30):
                    raise Reply(503, {"error": "%d calls still being "
                                      "handled after 30 s" % in_flight})
        with lock:
            apply_control(doc)
        raise Reply(200, {"ok": True})


def code_map(v, key):
    if not isinstance(v, dict) or \
            not all(isinstance(t, str) and c in CODES for t, c in v.items()):
        raise ValueError("%s: want {transactionId: code}, codes from %s"
                         % (key, ", ".join(CODES)))


def check_control(doc):
    """Raise ValueError naming the first bad key of control document DOC."""
    flags = ("move_services", "drop_scep_service", "drop_pki_service",
             "deny_discovery", "expire_tokens", "reset", "settle")
    for k, v in doc.items():
        if k in ("validate", "notify_code"):
            code_map(v, k)
        elif k in ("default_code", "notify_default_code"):
            if v not in CODES:
                raise ValueError("%s: %r is no known code" % (k, v))
        elif k in ("delay_ms", "token_lifetime"):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError("%s: want a whole number >= 0" % k)
        elif k == "fail_next":
            if not isinstance(v, dict) or \
                    not all(e in ENDPOINTS and h in HOWS
                            for e, h in v.items()):
                raise ValueError("fail_next: want {endpoint: how}, "
                                 "endpoints %s, ways %s" %
                                 (", ".join(ENDPOINTS), ", ".join(HOWS)))
        elif k in flags:
            if not isinstance(v, bool):
                raise ValueError("%s: want true or false" % k)
        elif k == "revoke":
            if not isinstance(v, list) or not all(
                    isinstance(r, dict) and
                    isinstance(r.get("serialNumber"), str) and
                    set(r) <= {"serialNumber", "issuerName",
                               "caConfiguration", "requestContext"}
                    for r in v):
                raise ValueError("revoke: want [{serialNumber, issuerName, "
                                 "caConfiguration, requestContext}]")
        else:
            raise ValueError("unknown key %s" % k)


def apply_control(doc):
    """Apply checked control document DOC; the caller holds the lock."""
    global st
    if doc.get("reset"):
        old = st["old_bases"] | {st["scep_base"], st["pki_base"]}
        moves = st["moves"]
        st = fresh_state()
        st["old_bases"] = old - {SCEP_BASE, PKI_BASE}
        st["moves"] = moves
    for k in ("validate", "notify_code"):
        st[k].update(doc.get(k, {}))
    for k in ("default_code", "notify_default_code", "delay_ms",
              "token_lifetime"):
        if k in doc:
            st[k] = doc[k]
    st["fail_next"].update(doc.get("fail_next", {}))
    if doc.get("move_services"):
        st["moves"] += 1
        st["old_bases"] |= {st["scep_base"], st["pki_base"]}
        st["scep_base"] = "/RACerts-%d%s" % (st["moves"], SCEP_BASE[8:])
        st["pki_base"] = "/RACerts-%d%s" % (st["moves"], PKI_BASE[8:])
    for k, s in (("drop_scep_service", "drop_scep"),
                 ("drop_pki_service", "drop_pki"),
                 ("deny_discovery", "deny")):
        if k in doc:
            st[s] = doc[k]
    if doc.get("expire_tokens"):
        for t in tokens.values():
            t["refused"] = True
    for r in doc.get("revoke", []):
        q = {"requestContext": r.get("requestContext") or
             base64.b64encode(secrets.token_bytes(36)).decode(),
             "serialNumber": r["serialNumber"],
             "issuerName": r.get("issuerName"),
             "caConfiguration": r.get("caConfiguration")}
        st["queue"].append(q)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up or fails the TLS handshake is not ours
        # to report at length.
        e = sys.exc_info()[1]
        sys.stderr.write("fake_intune: %s: %s\n" % (client_address[0], e))


def main():
    global args, client_cert, client_secret, st
    p = argparse.ArgumentParser(description="A local Microsoft Intune for "
                                "scepd's tests.")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--tenant", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret-file")
    p.add_argument("--client-cert")
    p.add_argument("--token-lifetime", type=int, default=3599)
    p.add_argument("--record")
    args = p.parse_args()
    if not args.client_secret_file and not args.client_cert:
        p.error("give --client-secret-file, --client-cert or both")
    if args.client_secret_file:
        with open(args.client_secret_file, encoding="utf-8") as f:
            client_secret = f.read().strip("\r\n")
    if args.client_cert:
        client_cert = load_client_cert(args.client_cert)
    st = fresh_state()
    srv = Server(("127.0.0.1", args.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    # The handshake then happens in the request's thread, not in accept():
    # a client that stalls it holds up only itself.
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                 do_handshake_on_connect=False)
    srv.serve_forever()


if __name__ == "__main__":
    main()
