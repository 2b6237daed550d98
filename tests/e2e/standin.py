"""A GitHub stand-in served over HTTPS on 127.0.0.1, for running the workflows in `act`.

It serves what a workflow run touches: the REST API under /api/v3 (as GitHub Enterprise Server does,
which is what act's --github-instance points the runner at), GitHub App installation tokens, and
git's
smart HTTP protocol (through `git http-backend`) for actions/checkout. Every REST request is matched
against GitHub's OpenAPI description (tests/ghapi/openapi-slice.json): an endpoint it does not know,
a request body the description rejects, or a response body that breaks the description is recorded
in `failures`, and the test fails on any."""

from __future__ import annotations

import datetime
import json
import os
import re
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from openapi_schema_validator import OAS30Validator

from ghapi.mockgithub import COMPONENTS, SLICE

API_PREFIX = "/api/v3"
# Endpoints that a pinned action calls, which GitHub's API description does not list, and whose
# failure the action tolerates: answered 404 without failing the test.
# actions/checkout v7 dist/index.js tryGetRepositoryObjectFormat(): GET hash-algorithm, errors
# ignored
TOLERATED = {("GET", re.compile(r"^/repos/[^/]+/[^/]+/hash-algorithm$"))}


def _template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "^" + "".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts) + "$"
    )


# the most specific template first: a literal segment beats a parameter
TEMPLATES = sorted(
    (
        (t, _template_regex(t), [n[1:-1] for n in re.findall(r"\{[^}]+\}", t)])
        for t in SLICE["paths"]
    ),
    key=lambda t: (t[0].count("{"), -len(t[0])),
)


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (IP SAN), valid for this session only."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "foureyes e2e GitHub stand-in")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "standin.pem", folder / "standin.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def app_key_pair() -> tuple[str, object]:
    """The GitHub App's private key (PEM, the secret a workflow gets) and its public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def validate(schema: dict, body) -> str | None:
    errors = sorted(OAS30Validator({"components": COMPONENTS, **schema}).iter_errors(body), key=str)
    return f"{errors[0].message} at {list(errors[0].absolute_path)}" if errors else None


@dataclass
class Call:
    method: str
    path: str  # the concrete path, without /api/v3 and query
    template: str | None
    query: dict
    body: object
    token: str | None
    status: int = 0


class Reply(Exception):
    """Raised by a route to answer with a non-2xx status (GitHub's basic-error body)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class Redirect(Exception):
    """Raised by a route to answer 302 (an artifact download goes to a short-lived blob URL)."""

    def __init__(self, location: str):
        super().__init__(location)
        self.location = location


@dataclass
class StandIn:
    """Set `routes[(METHOD, template)] = fn(call, **params) -> (status, body)` and start()."""

    workdir: Path
    failures: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    routes: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)  # installation token -> permissions granted
    blobs: dict = field(default_factory=dict)  # /_blobs/... path -> callable giving the bytes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.git_root = self.workdir / "git"
        self.git_root.mkdir(exist_ok=True)
        self.cert, self.key = self_signed_cert(self.workdir)
        self.app_private_key, self.app_public_key = app_key_pair()
        self.app_client_id = "Iv23liFoureyesE2E"
        self.installation_id = 4242
        self.server = None

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> StandIn:
        standin = self

        class Handler(_Handler):
            pass

        Handler.standin = standin
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"https://{self.host}{API_PREFIX}"

    # --- bookkeeping
    # -------------------------------------------------------------------------------

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)

    def called(self, method: str, template: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.template == template]

    def issue_token(self, permissions: dict) -> str:
        token = f"ghs_e2e{len(self.tokens):04d}" + "x" * 29
        self.tokens[token] = permissions
        return token

    # --- REST ----------------------------------------------------------------------------------

    def rest(self, method: str, path: str, query: dict, raw: bytes, headers) -> tuple[int, object]:
        body = json.loads(raw) if raw else None
        auth = headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else None
        match = next(
            (
                (t, dict(zip(names, m.groups(), strict=False)))
                for t, rx, names in TEMPLATES
                if (m := rx.match(path)) and method.lower() in SLICE["paths"][t]
            ),
            None,
        )
        call = Call(method, path, match[0] if match else None, query, body, token)
        with self.lock:
            self.calls.append(call)
        if match is None and any(m == method and rx.match(path) for m, rx in TOLERATED):
            call.status = 404
            return 404, {
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest",
            }
        if match is None:
            self.fail(
                f"{method} {path}: not an endpoint the stand-in knows from GitHub's API description"
            )
            call.status = 404
            return 404, {
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest",
            }
        template, params = match
        params = {
            k: unquote(v) for k, v in params.items()
        }  # a path parameter arrives percent-encoded (`%5Bbot%5D`)
        spec = SLICE["paths"][template][method.lower()]
        request_schema = (
            spec.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        )
        if request_schema is not None and body is not None:
            problem = validate(request_schema, body)
            if problem:
                self.fail(
                    f"{method} {template}: request body breaks the OpenAPI description: {problem}"
                )
                call.status = 422
                return 422, {
                    "message": "Validation Failed",
                    "documentation_url": "https://docs.github.com/rest",
                }
        route = self.routes.get((method, template))
        if route is None:
            self.fail(f"{method} {template}: the test gave the stand-in no answer for it")
            call.status = 404
            return 404, {
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest",
            }
        try:
            status, reply = route(call, **params)
        except Redirect as exc:
            call.status = 302
            return 302, {"Location": exc.location}
        except Reply as exc:
            call.status = exc.status
            return exc.status, {
                "message": exc.message,
                "documentation_url": "https://docs.github.com/rest",
            }
        call.status = status
        described = (
            spec["responses"].get(str(status), {}).get("content", {}).get("application/json", {})
        )
        if "schema" in described:
            problem = validate(described["schema"], reply)
            if problem:
                self.fail(
                    f"{method} {template}: the stand-in's {status} body breaks the "
                    f"description: {problem}"
                )
        return status, reply

    # --- git smart HTTP --------------------------------------------------------------------------

    def git(self, handler: _Handler, method: str, raw: bytes) -> None:
        url = urlsplit(handler.path)
        path = (
            url.path
            if ".git/" in url.path or url.path.endswith(".git")
            else re.sub(r"^(/[^/]+/[^/]+?)(/|$)", r"\1.git\2", url.path, count=1)
        )
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": url.query,
            "REQUEST_METHOD": method,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(raw)),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_USER": "x-access-token",
            "HTTP_GIT_PROTOCOL": handler.headers.get("Git-Protocol", ""),
        }
        out = subprocess.run(
            ["git", "http-backend"], input=raw, env=env, capture_output=True
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


class _Handler(BaseHTTPRequestHandler):
    standin: StandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the stand-in's calls are kept in `calls`
        pass

    def _raw(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b"".join(chunks)
        else:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip

            raw = gzip.decompress(raw)
        return raw

    def _serve(self, method: str) -> None:
        raw = self._raw()
        url = urlsplit(self.path)
        try:
            if url.path.startswith(API_PREFIX + "/") or url.path == API_PREFIX:
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                status, body = self.standin.rest(
                    method, url.path[len(API_PREFIX) :], query, raw, self.headers
                )
                # GitHub's examples point their links at api.github.com; GitHub itself (and GHES)
                # points
                # them at the API that answered, and clients follow them (PyGithub refuses another
                # host)
                payload = (
                    b""
                    if status in (204, 302)
                    else json.dumps(body)
                    .replace('"https://api.github.com', f'"{self.standin.api_url}')
                    .encode()
                )
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", body["Location"])
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            elif url.path.startswith("/_blobs/"):
                make = self.standin.blobs.get(url.path)
                payload = make() if make else b""
                self.send_response(200 if make else 404)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            else:
                self.standin.git(self, method, raw)
        except Exception as exc:  # a bug in the stand-in must fail the test, not hang the runner
            self.standin.fail(
                f"{method} {self.path}: stand-in crashed: {type(exc).__name__}: {exc}"
            )
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")
