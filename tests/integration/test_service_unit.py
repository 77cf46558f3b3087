"""The systemd unit (issue 19): ``systemd-analyze verify`` accepts it without a word,
its hardening scores as systemd rates it, and the process it starts stops on the unit's
signal within the unit's timeout, open SSE streams ended cleanly."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.test_http_cli import STARTUP_TIMEOUT

UNIT = Path(__file__).parents[2] / "deploy" / "cml-fleet.service"
INSTALLED = "/opt/cml-fleet/bin/cml-fleet"
STREAMS = 20


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing: apt-get install systemd")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def local_copy(tmp_path: Path, text: str) -> Path:
    """The unit with ExecStart on this checkout's cml-fleet (verify checks it exists)."""
    here = Path(sys.executable).parent / "cml-fleet"
    path = tmp_path / "cml-fleet.service"
    path.write_text(text.replace(INSTALLED, str(here)))
    return path


def test_systemd_analyze_verify_accepts_the_unit_without_a_warning(tmp_path: Path) -> None:
    done = analyze("verify", str(local_copy(tmp_path, UNIT.read_text())))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    # The check can fail: a misspelt key is reported.
    misspelt = local_copy(tmp_path, UNIT.read_text().replace("TimeoutStopSec", "TimeoutStopSc"))
    assert "Unknown key 'TimeoutStopSc'" in analyze("verify", str(misspelt)).stderr


def test_the_unit_runs_hardened_as_its_own_user_with_its_state_directory(tmp_path: Path) -> None:
    service = unit()["Service"]
    assert service["User"] == "cml-fleet" and service["StateDirectory"] == "cml-fleet"
    assert service["EnvironmentFile"] == "-/etc/cml-fleet/cml-fleet.env"
    assert "CML_FLEET_DATA_DIR=/var/lib/cml-fleet" in service["Environment"]
    assert service["ExecStart"] == f"{INSTALLED} serve"
    done = analyze("security", "--offline=yes", str(local_copy(tmp_path, UNIT.read_text())))
    level = re.search(r"Overall exposure level for cml-fleet.service: ([\d.]+)", done.stdout)
    assert level is not None, done.stdout + done.stderr
    assert float(level[1]) <= 2.0  # systemd's scale: 0 safest, 10 exposed; under 2 is "OK"


def test_the_service_stops_within_its_timeout_with_open_streams(tmp_path: Path) -> None:
    service = unit()["Service"]
    timeout = float(service["TimeoutStopSec"])
    kill = getattr(signal, service["KillSignal"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CML_FLEET_")} | {
        "CML_FLEET_DATA_DIR": str(tmp_path / "state"), "CML_FLEET_PORT": "0",
    }  # fmt: skip
    command = service["ExecStart"].replace(
        INSTALLED, str(Path(sys.executable).parent / "cml-fleet")
    )
    process = subprocess.Popen(command.split(), env=env, cwd=tmp_path, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        lines = iter(process.stdout)  # type: ignore[arg-type]
        url = next(x for x in lines if "serving on" in x).split("serving on ")[1].strip()
        token = next(x for x in lines if "token=" in x).split("token=")[1].strip()
        threading.Thread(target=lambda: [None for _ in lines], daemon=True).start()
        ended: list[str] = []
        opened = threading.Barrier(STREAMS + 1, timeout=STARTUP_TIMEOUT)

        def stream() -> None:
            headers = {"Authorization": f"Bearer {token}"}
            try:
                wait = httpx.Timeout(10, read=timeout + 5)
                with httpx.stream("GET", f"{url}/api/events", headers=headers,
                                  timeout=wait) as answer:  # fmt: skip
                    chunks = answer.iter_bytes()
                    next(chunks)
                    opened.wait()
                    for _ in chunks:
                        pass
                ended.append("clean")
            except httpx.HTTPError as error:
                ended.append(type(error).__name__)

        readers = [threading.Thread(target=stream) for _ in range(STREAMS)]
        for reader in readers:
            reader.start()
        opened.wait()
        asked = time.monotonic()
        process.send_signal(kill)
        code = process.wait(timeout=timeout)
        took = time.monotonic() - asked
        for reader in readers:
            reader.join(timeout)
        assert code in (0, -kill), code  # systemd counts an exit by its KillSignal as clean
        assert took < timeout
        assert ended == ["clean"] * STREAMS
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stdout.close()  # type: ignore[union-attr]
