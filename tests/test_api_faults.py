"""The Docker API is missing, refuses, or hangs: API checks are ERROR with the reason, host checks
still run, one line on stderr, no traceback, and the run always finishes."""
import socket
import time

import pytest

from helpers import by_id, run_main, unix_server

API_CHECKS = ("2.5", "4.1", "5.4", "6.5")   # need the Engine API
HOST_CHECKS = ("1.2", "3.1")                # need only the host


def audit(args):
    started = time.monotonic()
    code, out, err = run_main(args + ["-f", "json", "--check", ",".join(API_CHECKS + HOST_CHECKS)])
    return code, by_id(out), err, time.monotonic() - started


@pytest.fixture
def hung_socket(tmp_path):
    """A unix socket that accepts connections and never answers."""
    def hold(conn, stop):
        with conn:
            stop.wait()

    with unix_server(tmp_path / "hung.sock", hold) as path:
        yield path


def test_hung_api_times_out_per_call_and_finishes(hung_socket):
    code, results, err, elapsed = audit(["--host", f"unix://{hung_socket}", "--timeout", "1"])
    assert elapsed < 15
    for rec_id in API_CHECKS:
        assert results[rec_id]["status"] == "ERROR", results[rec_id]
        assert "did not answer in time" in results[rec_id]["details"]
    assert results["1.2"]["status"] == "PASS"
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err and "cannot reach the Docker daemon" in err


def test_missing_socket(tmp_path):
    code, results, err, _ = audit(["--host", f"unix://{tmp_path}/none.sock"])
    assert all(results[i]["status"] == "ERROR" for i in API_CHECKS)
    assert "does not exist" in results["5.4"]["details"]
    assert results["1.2"]["status"] == "PASS" and code == 1
    assert err.count("\n") == 1


def test_refused_connection(tmp_path):
    path = tmp_path / "dead.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.close()  # the file stays, nobody listens: ECONNREFUSED
    code, results, err, _ = audit(["--host", f"unix://{path}"])
    assert all(results[i]["status"] == "ERROR" for i in API_CHECKS)
    assert "refused" in results["2.5"]["details"]
    assert code == 1
