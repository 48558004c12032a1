"""`vmlab explore FILE`: one program through every stage, in the browser.

A local web application: the source (editable: it recompiles), its bytecode,
the LLVM IR and host assembly of what a `--jit` run compiled (its
`--jit-dump`), the assembly of a function for another CPU, and the run's
output; hovering a source line, a bytecode instruction or an assembly line
highlights the matching ones in every panel (Compiler Explorer's colour
links), through the source line and bytecode offset each carries.

The server is the standard library's (a page and four JSON calls need no
more). As Jupyter's does, it binds 127.0.0.1 only (a free port by default),
refuses requests without the random token its URL carries, refuses a
foreign Host or Origin header (DNS rebinding, cross-site requests), limits
request bodies to MAX_BODY bytes, and runs programs in child processes with
`--timeout` (and `--max-steps` in the interpreter: native code cannot count
steps). It reads no file but the one given: no request names a path.
"""

from __future__ import annotations

import http.server
import json
import secrets
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 256 << 10        # bytes of a request body
TARGETS = ["aarch64", "riscv64", "wasm32", "x86-64"]  # the page's other CPUs
RUN_SECONDS = 10            # --timeout of every run
RUN_STEPS = 50_000_000      # --max-steps of the interpreter's run
PAGE = Path(__file__).with_name("explore.html")


def compile_view(source: str, name: str) -> dict:
    """The bytecode panel's data, or the compile error with line and column."""
    from lang import compile_source
    from vmlab import disasm
    from vmlab.errors import CompileError

    try:
        program = compile_source(source, name)
    except CompileError as e:
        return {"error": {"text": e.render(name, source), "line": e.line, "col": e.col}}
    return {"functions": [
        {"name": code.name, "header": disasm.header(code, program),
         "instructions": [{"offset": i, "line": code.lines[i],
                           "text": disasm.instruction(code, program, i)}
                          for i in range(len(code.instrs))]}
        for code in disasm.codes(program)]}


def run_view(source: str, name: str) -> dict:
    """The program run in the interpreter (with both limits) and with the
    JIT at threshold 0 (with --timeout), in child processes: output, errors,
    and what the JIT compiled (jit.dump's files and index)."""
    try:
        return _runs(source, name)
    except subprocess.TimeoutExpired:  # (a child that ignored its own limits)
        return {"stdout": "", "stderr": "error: the run did not stop in time\n",
                "status": 1, "compiles": []}


def _runs(source: str, name: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="vmlab-explore-") as work:
        name = Path(name).name or "program.toy"
        program = Path(work) / name  # (so that messages name the file, as vmlab run's do)
        program.write_text(source)
        dump = Path(work) / "dump"
        command = [sys.executable, "-m", "vmlab", "run", name, "--timeout", str(RUN_SECONDS)]
        interp = subprocess.run(command + ["--max-steps", str(RUN_STEPS)], cwd=work,
                                capture_output=True, timeout=RUN_SECONDS + 20)
        view = {"stdout": interp.stdout.decode(errors="replace"),
                "stderr": interp.stderr.decode(errors="replace"), "status": interp.returncode,
                "compiles": []}
        stats = Path(work) / "stats.json"
        jit = subprocess.run(command + ["--jit", "--jit-threshold", "0", "--jit-background",
                                        "off", "--jit-cache", "off", "--jit-dump", str(dump),
                                        "--jit-log", "--stats-json", str(stats)],
                             cwd=work, capture_output=True, timeout=RUN_SECONDS + 60)
        view["jit_status"] = jit.returncode
        view["jit_log"] = [line for line in jit.stderr.decode(errors="replace").splitlines()
                           if line.startswith("jit: ")]
        view["jit_functions"] = (json.loads(stats.read_text()).get("jit", {})
                                 .get("functions", {}) if stats.exists() else {})
        index = dump / "index.json"
        events = json.loads(index.read_text())["events"] if index.exists() else []
        for event in events:
            for part in ("ll", "opt.ll", "s"):
                event[part] = (dump / f"{event['files']}.{part}").read_text()
            view["compiles"].append(event)
    return view


STEPS = 5000  # the stepper's instructions, at most


def steps_view(source: str, name: str) -> dict:
    """The stepper's data: the program run in the interpreter in a child
    process (`python -m vmlab.explore`, with a timeout), a snapshot before
    each of its first STEPS instructions."""
    try:
        done = subprocess.run([sys.executable, "-m", "vmlab.explore"], capture_output=True,
                              input=json.dumps({"source": source, "name": name}).encode(),
                              timeout=RUN_SECONDS)
        return json.loads(done.stdout)
    except (subprocess.TimeoutExpired, ValueError):
        return {"error": f"the stepper stopped: more than {RUN_SECONDS} s"}


def record_steps(source: str, name: str, limit: int = STEPS) -> dict:
    """Run the program, keeping before each instruction the running
    function, offset, line and instruction, every frame's locals (callers
    first), the operand stack and how much had been printed. The frames
    are read from the interpreter loop's own (`sys._getframe`, as a
    debugger does): recording costs nothing when nobody steps."""
    from lang import compile_source
    from vmlab.disasm import instruction
    from vmlab.errors import CompileError, ToyRuntimeError
    from vmlab.interp import DEFAULT_MAX_DEPTH, run
    from vmlab.interrupts import Interrupted
    from vmlab.output import Output
    from vmlab.trace import stack_text

    try:
        program = compile_source(source, name)
    except CompileError as e:
        return {"error": e.render(name, source)}
    output, steps = Output(), []

    def frame(code, local) -> dict:
        return {"function": code.name,
                "locals": {n: stack_text([v])[1:-1] for n, v in zip(code.local_names, local)
                           if v is not None}}

    def observe(code, pc, stack, depth):
        if len(steps) == limit:
            raise Interrupted(f"the stepper keeps the first {limit} instructions")
        loop = sys._getframe(1).f_locals
        callers = [dict(frame(c, saved_local), line=c.lines[saved_pc - 1])
                   for c, _, _, saved_pc, saved_local, _ in loop["frames"]]
        steps.append({"function": code.name, "offset": pc, "line": code.lines[pc],
                      "instruction": instruction(code, program, pc), "stack": stack_text(stack),
                      "frames": callers + [dict(frame(code, loop["local"]), line=code.lines[pc])],
                      "printed": len(output.getvalue())})
    ended = "the end"
    try:
        run(program, output, DEFAULT_MAX_DEPTH, observe)
    except ToyRuntimeError as e:
        ended = e.render()
    except Interrupted as e:
        ended = str(e)
    return {"steps": steps, "output": output.getvalue(), "ended": ended}


_LLVM = threading.Lock()  # (one compile at a time in this process)


def target_view(source: str, name: str, function: str, types: list[str], target: str) -> dict:
    """A function's assembly for another target, or what is wrong."""
    from jit import inspect
    from jit.infer import Decline
    from lang import compile_source
    from vmlab.errors import CompileError

    try:
        program = compile_source(source, name)
        chosen = inspect.targets([target])
        if len(chosen) != 1 or program.function(function) is None:
            raise ValueError(target if len(chosen) != 1 else function)
        with _LLVM:
            return {"assembly": inspect.asm(program, function, tuple(types), 2, chosen[0][1],
                                            lines=True)}
    except (CompileError, ValueError, Decline, StopIteration) as e:
        return {"error": f"cannot show {function} for {target}: {e}"}


class Handler(http.server.BaseHTTPRequestHandler):
    """The page and the JSON calls, after the checks."""

    server: Server

    def log_message(self, *args) -> None:  # (quiet: the terminal shows the program)
        pass

    def _refuse(self, code: int, why: str) -> None:
        body = why.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _allowed(self) -> bool:
        """The token, our own Host, and no foreign Origin: else refused."""
        port = self.server.server_address[1]
        hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        if self.headers.get("Host") not in hosts:
            self._refuse(403, "refused: a foreign Host header")
            return False
        origin = self.headers.get("Origin")
        if origin is not None and origin not in {f"http://{h}" for h in hosts}:
            self._refuse(403, "refused: a foreign Origin")
            return False
        query = parse_qs(urlsplit(self.path).query)
        token = self.headers.get("X-Vmlab-Token") or query.get("token", [""])[0]
        if not secrets.compare_digest(token, self.server.token):
            self._refuse(403, "refused: no valid token")
            return False
        return True

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self' 'unsafe-inline'")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if not self._allowed():
            return
        if urlsplit(self.path).path != "/":
            self._refuse(404, "not found")
            return
        self._send(page(self.server.initial, self.server.name, self.server.token).encode(),
                   "text/html; charset=utf-8")

    def do_POST(self) -> None:
        if not self._allowed():
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._refuse(411, "a request needs a Content-Length")
            return
        if int(length) > MAX_BODY:
            self._refuse(413, f"refused: a request body over {MAX_BODY} bytes")
            return
        try:
            request = json.loads(self.rfile.read(int(length)))
            source = request["source"]
            if not isinstance(source, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            self._refuse(400, "a JSON object with the program's source")
            return
        name, call = self.server.name, urlsplit(self.path).path
        if call == "/api/compile":
            answer = compile_view(source, name)
        elif call == "/api/run":
            answer = run_view(source, name)
        elif call == "/api/steps":
            answer = steps_view(source, name)
        elif call == "/api/target":
            answer = target_view(source, name, str(request.get("function", "")),
                                 [str(t) for t in request.get("types", [])],
                                 str(request.get("target", "")))
        else:
            self._refuse(404, "not found")
            return
        self._send(json.dumps(answer).encode(), "application/json")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, source: str, name: str, port: int = 0):
        super().__init__(("127.0.0.1", port), Handler)
        self.initial, self.name = source, name
        self.token = secrets.token_urlsafe(24)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/?token={self.token}"


def page(source: str, name: str, token: str, data: dict | None = None) -> str:
    """The application's one page: the source, the file's name, the token
    its calls carry, and (for an exported page) all the views, precomputed."""
    boot = {"source": source, "name": name, "token": token, "data": data}
    return PAGE.read_text().replace("/*BOOT*/null", json.dumps(boot).replace("</", "<\\/"))


def export(source: str, name: str) -> str:
    """A self-contained page with every view computed now: no server, no
    network (`vmlab explore FILE --export page.html`)."""
    data = {"compile": compile_view(source, name)}
    if "error" not in data["compile"]:
        data["run"] = run_view(source, name)
        data["steps"] = steps_view(source, name)
        data["target"] = {}
        for event in data["run"]["compiles"]:
            if event["kind"] == "call":
                function = event["name"].split("(")[0]
                for target in TARGETS:
                    data["target"][f"{function}|{','.join(event['types'])}|{target}"] = \
                        target_view(source, name, function, event["types"], target)
    return page(source, name, "", data)


if __name__ == "__main__":  # (steps_view's child process)
    request = json.load(sys.stdin)
    json.dump(record_steps(request["source"], request["name"]), sys.stdout)
