"""The built wheel installs into a bare venv and its core runs with no dependency at all."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sdk_vectors import load_vector_cases

SDK = Path(__file__).resolve().parents[1]
REPO = SDK.parents[1]
UV = REPO / ".tools" / "uv" / "bin" / "uv"

SMOKE = r"""
import importlib.util, sys
import hookseal
assert importlib.util.find_spec("cryptography") is None, "the bare venv must not have cryptography"
secret = hookseal.generate_secret()
headers = hookseal.sign(b'{"id":"evt_1"}', secret, msg_id="m")
assert hookseal.Webhook(secret).construct_event(b'{"id":"evt_1"}', headers) == {"id": "evt_1"}
try:
    hookseal.Webhook("whpk_" + "A" * 43 + "=")
except hookseal.ConfigurationError as exc:
    assert "hookseal[ed25519]" in str(exc), exc
else:
    raise AssertionError("a whpk_ key without the extra must be a configuration error")
extra = sorted(name for name, mod in list(sys.modules.items())
               if "site-packages" in (getattr(mod, "__file__", None) or "") and name.split(".")[0] != "hookseal")
assert not extra, f"imported outside the standard library: {extra}"
print("ok")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(SDK)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("hookseal-*.whl")
    return path


def test_wheel_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "hookseal/py.typed" in names
    assert "hookseal/__init__.py" in names
    assert not any("tests/" in n for n in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist:")]
    assert all("extra ==" in line for line in requires), requires


def _find_python(name: str) -> str | None:
    """A working interpreter called ``name``: on PATH (pyenv shims may not run), or a pyenv build."""
    candidates = [shutil.which(name), *sorted(str(p) for p in Path.home().glob(f".pyenv/versions/*/bin/{name}"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "pass"], capture_output=True, timeout=60, check=False)
        if probe.returncode == 0:
            return candidate
    return None


@pytest.mark.parametrize("interpreter", ["python3", "python3.9"])
def test_core_runs_in_a_bare_venv(wheel: Path, tmp_path: Path, interpreter: str) -> None:
    """The oldest supported Python (3.9) and the machine's python3, with nothing but the wheel."""
    python = _find_python(interpreter)
    if python is None:
        pytest.skip(f"{interpreter} is not on this machine (nor under ~/.pyenv/versions)")
    venv = tmp_path / "bare"
    if UV.exists():
        subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        subprocess.run([str(UV), "pip", "install", "--python", str(venv / "bin" / "python"), "--no-deps",
                        "--offline", str(wheel)], check=True, capture_output=True, timeout=300)  # fmt: skip
    else:
        subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
                       check=True, capture_output=True, timeout=300)  # fmt: skip
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", SMOKE], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    # The HMAC vectors through the adapter, on this interpreter.
    cases = [c for c in load_vector_cases() if "ed25519" not in c["flags"]]
    lines = "".join(json.dumps(c["request"]) + "\n" for c in cases)
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "hookseal.verifier_adapter"], input=lines,
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(a["ok"], a.get("error")) for a in answers] == [
        (c["expected"]["ok"], c["expected"].get("error")) for c in cases
    ]


# --- every documented install line, from the wheel, in a fresh venv -------------------------

# Where install lines are documented: the docs site, the READMEs and the SDK's own messages.
DOCUMENTED = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), *sorted(SDK.glob("*.md")),
              *sorted((SDK / "src").rglob("*.py"))]  # fmt: skip
INSTALL_LINE = re.compile(r"""pip install ['"]?(hookseal(?:\[[a-z0-9_,-]+\])?)(?![\w-])""")

_SIGNED = """
import hookseal
secret = hookseal.generate_secret()
body = b'{"id":"evt_1","type":"test.ping"}'
headers = hookseal.sign(body, secret, msg_id="evt_1")
"""

# What each line promises, used the way the docs use it.
SMOKES: dict[str, str] = {
    "hookseal": _SIGNED + """
assert hookseal.Webhook(secret).construct_event(body, headers)["id"] == "evt_1"
""",
    "hookseal[models]": """
import json
import re
import hookseal
from hookseal.examples import example_envelope
from hookseal.models import InvoicePaidV1Event
secret = hookseal.generate_secret()
body = json.dumps(example_envelope("invoice.paid")).encode()
event = hookseal.Webhook(secret).construct_event(body, hookseal.sign(body, secret), typed=True)
assert isinstance(event, InvoicePaidV1Event), type(event)
""",
    "hookseal[cli]": """
import http.server, threading
import hookseal
from hookseal import cli
import rich.console  # listen's dependency
seen = []
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        seen.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
secret = hookseal.generate_secret()
url = f"http://127.0.0.1:{server.server_port}/"
assert cli.main(["trigger", "invoice.paid", "--to", url, "--secret", secret]) == 0
server.shutdown()
(headers, body), = seen
assert hookseal.Webhook(secret).construct_event(body, headers)["type"] == "invoice.paid"
try:
    cli.main(["listen", "--help"])
except SystemExit as exc:
    assert exc.code == 0
""",
    "hookseal[ed25519]": """
import hookseal
signing_key, public_key = hookseal.generate_signing_key()
headers = hookseal.sign(b"{}", signing_key, msg_id="m")
hookseal.Webhook(public_key).verify(b"{}", headers)
""",
    "hookseal[flask]": _SIGNED + """
import flask
from hookseal.integrations.flask import verify_webhook
app = flask.Flask("smoke")
@app.post("/webhooks")
@verify_webhook(hookseal.Webhook(secret))
def webhooks(event):
    return {"received": event["id"]}
client = app.test_client()
assert client.post("/webhooks", data=body, headers=headers).get_json() == {"received": "evt_1"}
assert client.post("/webhooks", data=body + b" ", headers=headers).status_code == 401
""",
    "hookseal[django]": _SIGNED + """
import json
import re
from django.conf import settings
settings.configure(DEBUG=True, ALLOWED_HOSTS=["testserver"])
import django
django.setup()
from django.http import JsonResponse
from django.test import RequestFactory
from hookseal.integrations.django import verify_webhook
@verify_webhook(hookseal.Webhook(secret))
def webhooks(request, event):
    return JsonResponse({"received": event["id"]})
meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
ok = webhooks(RequestFactory().post("/w", data=body, content_type="application/json", **meta))
assert json.loads(ok.content) == {"received": "evt_1"}, ok.content
bad = webhooks(RequestFactory().post("/w", data=body + b" ", content_type="application/json", **meta))
assert bad.status_code == 401
""",
    "hookseal[fastapi]": _SIGNED + """
import asyncio, json
from fastapi import Depends, FastAPI
from hookseal.integrations.fastapi import VerifiedEvent, install
app = FastAPI()
install(app)
verified = VerifiedEvent(hookseal.Webhook(secret))
@app.post("/webhooks")
async def webhooks(event: dict = Depends(verified)) -> dict:
    return {"received": event["id"]}
async def post(data):
    # A bare ASGI call: the extra does not bring an HTTP client.
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "path": "/webhooks", "raw_path": b"/webhooks", "query_string": b"", "scheme": "http",
             "server": ("test", 80), "client": ("127.0.0.1", 1), "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    messages = [{"type": "http.request", "body": data, "more_body": False}]
    sent = []
    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}
    async def send(message):
        sent.append(message)
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])
assert asyncio.run(post(body)) == (200, b'{"received":"evt_1"}')
assert asyncio.run(post(body + b" "))[0] == 401
""",
    "hookseal[otel]": _SIGNED + """
import asyncio
import opentelemetry.trace
from hookseal.integrations import _tracing
from hookseal.integrations.asgi import HooksealMiddleware
assert _tracing._api() is not None, "the otel extra must make OpenTelemetry importable"
seen = []
async def app(scope, receive, send):
    seen.append(opentelemetry.trace.get_current_span())  # the receive span is current
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
scope = {"type": "http", "path": "/", "method": "POST",
         "headers": [(k.lower().encode(), v.encode()) for k, v in {**headers, "traceparent": traceparent}.items()]}
messages = [{"type": "http.request", "body": body, "more_body": False}]
sent = []
async def receive():
    return messages.pop(0)
async def send(message):
    sent.append(message)
asyncio.run(HooksealMiddleware(app, hookseal.Webhook(secret))(scope, receive, send))
assert sent[0]["status"] == 204 and len(seen) == 1
# With the API alone (no SDK configured) the span is non-recording but carries the trace.
assert seen[0].get_span_context().trace_id == 0x4bf92f3577b34da6a3ce929d0e0e4736
""",
    "hookseal[redis]": """
from hookseal.idempotency import RedisIdempotencyStore
RedisIdempotencyStore.from_url("redis://127.0.0.1:1/0")  # builds the client; connects only when used
""",
}


def _documented_lines() -> set[str]:
    return {m for path in DOCUMENTED for m in INSTALL_LINE.findall(path.read_text(encoding="utf-8"))}


def test_every_documented_install_line_is_checked() -> None:
    lines = _documented_lines()
    assert {"hookseal", "hookseal[cli]", "hookseal[models]"} <= lines, lines
    assert lines <= set(SMOKES), f"documented but never installed by a test: {sorted(lines - set(SMOKES))}"


def _extra(spec: str) -> list[str]:
    return ["--extra", spec.split("[")[1].rstrip("]")] if "[" in spec else []


@pytest.mark.parametrize("spec", sorted(SMOKES))
def test_documented_install_line_works_from_the_wheel(wheel: Path, tmp_path: Path, spec: str) -> None:
    """``pip install <spec>`` in a fresh venv, with only the wheels this repository builds.

    Third-party dependencies come pinned from uv.lock through uv's cache (no network); the
    SDK itself must resolve from ``wheel``'s directory alone, so an extra that needs another
    package of ours (which is not on PyPI) fails here.
    """
    assert UV.exists(), "run `make install` first: it bootstraps uv into .tools/"
    python = _find_python("python3")
    assert python is not None
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    vpy = str(venv / "bin" / "python")
    lock = tmp_path / "pylock.toml"
    subprocess.run([str(UV), "export", "--frozen", "--quiet", "--package", "hookseal", *_extra(spec),
                    "--no-emit-workspace", "--format", "pylock.toml", "-o", str(lock)],
                   cwd=REPO, check=True, capture_output=True, timeout=120)  # fmt: skip
    if "[[packages]]" in lock.read_text(encoding="utf-8"):
        subprocess.run([str(UV), "pip", "install", "--python", vpy, "--offline", "-r", str(lock)],
                       check=True, capture_output=True, timeout=300)  # fmt: skip
    install = subprocess.run([str(UV), "pip", "install", "--python", vpy, "--offline", "--no-index",
                              "--find-links", str(wheel.parent), spec],
                             capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert install.returncode == 0, f"pip install '{spec}' failed from the wheels:\n{install.stderr[-3000:]}"
    result = subprocess.run([vpy, "-c", SMOKES[spec]], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"'{spec}' installed but does not work:\n{result.stderr[-3000:]}"
