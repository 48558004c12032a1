"""`vmlab explore`: the server's refusals and limits (as Jupyter's), and the
views it serves. (What a browser shows: tests/test_explore_browser.py.)"""

import http.client
import json
import threading

import pytest

from conftest import ROOT, vmlab
from vmlab import explore

FIB = (ROOT / "examples" / "fib.toy").read_text()


@pytest.fixture
def server():
    server = explore.Server(FIB, "fib.toy")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def request(server, method="GET", path=None, body=None, headers=None, token=True):
    """(status, body) of one request; the token in a header unless told not to."""
    port = server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sent = {"Host": f"127.0.0.1:{port}"}
    if token:
        sent["X-Vmlab-Token"] = server.token
    sent.update(headers or {})
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    connection.request(method, path or "/", data, sent)
    answer = connection.getresponse()
    return answer.status, answer.read()


def test_it_listens_on_localhost_only_with_a_token_in_its_url(server):
    assert server.server_address[0] == "127.0.0.1"
    assert server.url.startswith("http://127.0.0.1:") and server.token in server.url
    status, page = request(server, path=f"/?token={server.token}", token=False)
    assert status == 200 and b"vmlab explore" in page and b'"fib.toy"' in page


@pytest.mark.parametrize("refusal, why", [
    ({"token": False}, b"no valid token"),
    ({"headers": {"X-Vmlab-Token": "guess"}}, b"no valid token"),
    ({"headers": {"Host": "attacker.example:80"}}, b"a foreign Host header"),
    ({"headers": {"Origin": "http://attacker.example"}}, b"a foreign Origin"),
])
def test_refusals(server, refusal, why):
    for method, body in (("GET", None), ("POST", {"source": "print(1);"})):
        status, text = request(server, method, "/api/compile" if body else "/", body, **refusal)
        assert (status, why in text) == (403, True), method


def test_an_oversized_or_malformed_body_is_refused(server):
    status, text = request(server, "POST", "/api/compile",
                           {"source": "x" * (explore.MAX_BODY + 1)})
    assert status == 413 and b"over" in text
    assert request(server, "POST", "/api/compile", b"not json")[0] == 400
    assert request(server, "POST", "/api/compile", {"source": 7})[0] == 400
    assert request(server, "POST", "/api/nothing", {"source": ""})[0] == 404
    assert request(server, "GET", "/etc/passwd")[0] == 404  # (no request names a file)


def test_an_endless_program_is_stopped_by_the_limits(server, monkeypatch):
    monkeypatch.setattr(explore, "RUN_SECONDS", 2)
    monkeypatch.setattr(explore, "RUN_STEPS", 100_000)
    status, text = request(server, "POST", "/api/run", {"source": "print(1);\nwhile true {}\n"})
    answer = json.loads(text)
    assert status == 200 and answer["stdout"] == "1\n" and answer["status"] == 1
    assert answer["stderr"] == "error: step limit exceeded (--max-steps 100000)\n"
    assert answer["jit_status"] == 1  # (--timeout: native code counts no steps)


def test_the_views(server):
    status, text = request(server, "POST", "/api/compile", {"source": FIB})
    functions = json.loads(text)["functions"]
    assert [f["name"] for f in functions] == ["<main>", "fib"]
    call = functions[1]["instructions"][9]
    assert call == {"offset": 9, "line": 6, "text": "CALL                0  fib"}
    status, text = request(server, "POST", "/api/compile", {"source": "print(1 +);"})
    assert json.loads(text)["error"]["line"] == 1 and json.loads(text)["error"]["col"] == 10
    run = json.loads(request(server, "POST", "/api/run", {"source": FIB})[1])
    assert run["stdout"].startswith("fib 0 = 0\n") and run["status"] == 0
    assert run["jit_log"][0].startswith("jit: COMPILE fib(int) -> int in ")
    assert run["jit_functions"]["fib"]["native_entries"] > 0
    fib = next(c for c in run["compiles"] if c["name"] == "fib(int)")
    assert "# line 6, offset 9" in fib["s"]
    assert "!DILocation(column: 10, line: 6, scope: " in fib["ll"]  # (llvmlite's order)
    target = json.loads(request(server, "POST", "/api/target", {
        "source": FIB, "function": "fib", "types": ["int"], "target": "aarch64"})[1])
    assert "# line 3, offset" in target["assembly"] and "ret" in target["assembly"]
    wrong = json.loads(request(server, "POST", "/api/target", {
        "source": FIB, "function": "fib", "types": ["int"], "target": "sparc-foo"})[1])
    assert "cannot show fib for sparc-foo" in wrong["error"]


def test_export_writes_one_page_with_every_view(tmp_path):
    result = vmlab("explore", str(ROOT / "examples" / "fib.toy"), "--export", "page.html",
                   cwd=tmp_path)
    assert result.returncode == 0 and b"wrote page.html" in result.stdout
    page = (tmp_path / "page.html").read_text()
    boot = json.loads(page.split("const BOOT = ", 1)[1].split(";\n", 1)[0])
    assert boot["token"] == "" and boot["data"]["run"]["stdout"].startswith("fib 0 = 0")
    assert "http" not in page.split("<script>")[1].replace("http://", "")  # (no network)
    assert vmlab("explore", "nope.toy", "--export", "x.html", cwd=tmp_path).returncode == 2
