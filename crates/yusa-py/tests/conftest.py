"""Shared fixtures: the repository's paths, the `yusa` binary, tiny fixture models for plumbing and the
shipped models (when `make model` has run) for the decisions and the server parity."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures"
MODELS = REPO / "models"
YUSA = REPO / "target" / "release" / "yusa"


def real_models() -> bool:
    have = (MODELS / "yusa-ko-e5-small" / "model.safetensors").exists() or (MODELS / "yusa-ko-e5-small" / "config.json").exists()
    if not have and os.environ.get("YUSA_REQUIRE_MODEL") == "1":
        pytest.fail("the shipped models are missing: run `make model`")
    return have


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`yusa serve` on an index folder, stopped at the end."""

    def __init__(self, index: Path, *args: str) -> None:
        if not YUSA.exists():
            pytest.fail(f"{YUSA} is missing: run `make build`")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(YUSA), "serve", "--index-dir", str(index), "--models-dir", str(MODELS), "--addr", f"127.0.0.1:{self.port}", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(600):
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1)
                return
            except Exception:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stderr.read().decode())
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def yusa_cli(*args: str) -> dict:
    out = subprocess.run([str(YUSA), *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


@pytest.fixture
def tiny(tmp_path):
    """An Engine on the tiny fixture model (random weights, the real tokenizer): plumbing only."""
    import yusa

    return yusa.Engine(tmp_path / "index", FIXTURES, model="tiny-bert", no_cross_encoder=True)


def copy_index(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("yusa.lock"))
