"""Run a WebAssembly module `vmlab build --target wasm32` made, under
wasmtime (PyPI), as a command: `python -m vmlab.wasi prog.wasm`.

The module's stdout and stderr are the process's, its exit status is the
process's. wasmtime runs wasm on the calling thread's native stack, 512 KiB
by default: 10,000 toy calls need more, so the module runs on a thread with
a STACK-byte stack and may use most of it (the toy call limit, checked by
the module itself, comes first). A trap (which the module's own checks
should make impossible) is reported in one line, status 70.
"""

from __future__ import annotations

import sys
import threading

STACK = 512 << 20      # the thread's native stack
WASM_STACK = 480 << 20  # what wasm frames may take of it


def run(path: str) -> int:
    """Run the module's `_start`: its exit status."""
    import wasmtime
    from wasmtime import _bindings
    config = wasmtime.Config()
    # (The C API checks it against the async stack's size, 2 MiB by default,
    # which the Python API does not set.)
    _bindings.wasmtime_config_async_stack_size_set(config.ptr(), WASM_STACK)
    config.max_wasm_stack = WASM_STACK
    config.cache = True  # (wasmtime's own cache of compiled modules)
    engine = wasmtime.Engine(config)
    try:
        module = wasmtime.Module.from_file(engine, path)
    except (OSError, wasmtime.WasmtimeError) as e:
        sys.stderr.write(f"vmlab.wasi: cannot load '{path}': {e}\n")
        return 2
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    wasi.argv = [path]
    store.set_wasi(wasi)
    status = [0]

    def start():
        try:
            linker.instantiate(store, module).exports(store)["_start"](store)
        except wasmtime.ExitTrap as e:
            status[0] = e.code
        except wasmtime.Trap as e:
            message = str(e).splitlines()[-1].strip()
            sys.stderr.write(f"vmlab.wasi: the module trapped: {message}\n")
            status[0] = 70
    size = threading.stack_size(STACK)
    try:
        thread = threading.Thread(target=start)
        thread.start()
    finally:
        threading.stack_size(size)
    thread.join()
    return status[0]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m vmlab.wasi MODULE.wasm\n")
        sys.exit(2)
    sys.exit(run(sys.argv[1]))
