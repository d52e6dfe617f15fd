"""The built wheel installs into a bare venv and its core runs with no dependency at all."""

from __future__ import annotations

import json
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
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "hookseal.adapter"], input=lines,
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(a["ok"], a.get("error")) for a in answers] == [
        (c["expected"]["ok"], c["expected"].get("error")) for c in cases
    ]
