"""The JIT's code cache (jit/codecache.py): machine code kept between runs,
keyed so that it is used only where it is valid, never damaging a run."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import ROOT, vmlab

PROGRAM = """\
fn fib(n) { if n < 2 { return n; } return fib(n - 1) + fib(n - 2); }
fn half(i) { if i % 2 == 0 { return i / 2; } return float(i) / 2.0; }
let s = 0.0;
for i in 0..3000 { s = s + float(half(i)); }
print(fib(20), s);
"""
WANT = b"6765 2249250.0\n"


def run(tmp_path, cache, *extra, check=True):
    """`vmlab run --jit` of PROGRAM with the cache in `cache`; (result, stats time)."""
    (tmp_path / "p.toy").write_text(PROGRAM)
    stats = tmp_path / "stats.json"
    result = vmlab("run", "p.toy", "--jit", "--jit-threshold", "10", "--jit-cache", str(cache),
                   "--stats-json", str(stats), *extra, cwd=tmp_path)
    if check:
        assert result.stdout == WANT
    return result, json.loads(stats.read_text())["time"]


def in_process(cache):
    """PROGRAM run with the JIT in this process; the run's code cache."""
    from jit.tiering import Tiering, run_program
    from lang import compile_source
    from vmlab.output import Output

    program = compile_source(PROGRAM, "p.toy")
    out = Output()
    jit = Tiering(program, out, 10_000, 10, cache=cache)
    run_program(program, out, 10_000, None, jit)
    assert out.getvalue() == WANT.decode()
    return jit.compiler.cache


def test_a_second_run_takes_its_code_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    first, time1 = run(tmp_path, cache)
    assert first.stderr == b"" and time1["cache_hits"] == 0 and time1["cache_misses"] > 0
    second, time2 = run(tmp_path, cache)
    assert second.stderr == b""
    assert time2["cache_misses"] == 0 and time2["cache_hits"] == time1["cache_misses"]
    info = vmlab("cache", "info", "--dir", str(cache)).stdout.decode()
    assert f"{time1['cache_misses']} entries" in info
    assert vmlab("cache", "clear", "--dir", str(cache)).returncode == 0
    assert list(cache.iterdir()) == []
    assert run(tmp_path, cache)[1]["cache_hits"] == 0


def test_off_keeps_nothing(tmp_path):
    result, time = run(tmp_path, "off")
    assert time["cache_hits"] == time["cache_misses"] == 0
    assert not (tmp_path / "off").exists()


def test_code_for_another_cpu_or_version_is_never_used(tmp_path, monkeypatch):
    """In-process: the same program, once for this host, once for a host
    whose CPU name differs (as if the cache came from another machine)."""
    from jit import engine

    first = in_process(tmp_path)
    assert first.misses > 0 and first.hits == 0
    again = in_process(tmp_path)  # (this process has the runtime and entry wrappers already)
    assert again.hits > 0 and again.misses == 0
    real = engine.host()
    for other in (real.replace(engine.llvm.get_host_cpu_name(), "some-other-cpu"),
                  real.replace(" vmlab ", " vmlab 0.0.0+x ")):
        monkeypatch.setattr(engine, "host", lambda other=other: other)
        cache = in_process(tmp_path)
        assert cache.hits == 0 and cache.misses == again.hits, other
    # Each host's files are its own; the real host's are still there.
    monkeypatch.setattr(engine, "host", lambda: real)
    assert in_process(tmp_path).hits == again.hits


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "hostile", "empty"])
def test_a_damaged_file_is_ignored_with_a_warning_and_compiled_again(tmp_path, damage):
    from jit import codecache

    cache = tmp_path / "cache"
    _, time1 = run(tmp_path, cache)
    for path in cache.glob("*.o"):
        data = path.read_bytes()
        if damage == "truncate":
            data = data[: len(data) // 2]
        elif damage == "flip":
            data = data[:-40] + bytes([data[-40] ^ 0xFF]) + data[-39:]
        elif damage == "garbage":
            data = b"\x7fELF" + bytes(range(256)) * 4
        elif damage == "hostile":  # a consistent header around something else
            import hashlib
            header = codecache._HEADER
            _, key, _, _, host_length = header.unpack_from(data)
            host = data[header.size:header.size + host_length]
            obj = b"\x7fELF\x02\x01\x01" + b"\xcc" * 500
            data = header.pack(codecache.MAGIC, key, hashlib.sha256(obj).digest(), len(obj),
                               host_length) + host + obj
        else:
            data = b""
        path.write_bytes(data)
    result, time2 = run(tmp_path, cache)
    warnings = result.stderr.decode().splitlines()
    assert len(warnings) == time1["cache_misses"]
    assert all(w.startswith("vmlab: ignoring the damaged code cache file ") and
               w.endswith("; compiling again") for w in warnings)
    assert time2["cache_hits"] == 0
    assert run(tmp_path, cache)[0].stderr == b""  # written anew


def test_parallel_runs_share_one_cache(tmp_path):
    """Several processes filling an empty cache at once: every run is right,
    and what they leave is whole (the next run uses all of it, silently)."""
    cache = tmp_path / "cache"
    (tmp_path / "p.toy").write_text(PROGRAM)
    command = [sys.executable, "-m", "vmlab", "run", "p.toy", "--jit", "--jit-threshold", "10",
               "--jit-cache", str(cache)]

    def one(_):
        return subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))
    assert [(r.stdout, r.stderr, r.returncode) for r in results] == [(WANT, b"", 0)] * 6
    assert not [p for p in cache.iterdir()
                if p.suffix not in (".o", ".profile")]  # no temporary left
    result, time = run(tmp_path, cache)
    assert result.stderr == b"" and time["cache_misses"] == 0


def test_the_cache_stays_within_its_bound(tmp_path):
    from jit.codecache import CodeCache

    cache = CodeCache(tmp_path, "host", limit=10_000)
    keys = [bytes([i]) * 32 for i in range(40)]
    obj = b"x" * 1000
    for i, key in enumerate(keys):
        cache.put(key, obj)
        path = tmp_path / (key.hex() + ".o")
        import os
        os.utime(path, (1000 + i, 1000 + i))  # (times one second apart)
    files = sorted(tmp_path.iterdir())
    total = sum(p.stat().st_size for p in files)
    assert total <= 10_000 and len(files) >= 5
    kept = {p.name for p in files}
    assert (keys[-1].hex() + ".o") in kept and (keys[0].hex() + ".o") not in kept


def test_cache_commands_on_an_empty_directory(tmp_path):
    result = vmlab("cache", "info", "--dir", str(tmp_path / "none"))
    assert result.returncode == 0 and b"0 entries, 0 bytes" in result.stdout
    assert vmlab("cache", "clear", "--dir", str(tmp_path)).stdout.startswith(b"removed 0 ")


def test_the_default_directory(monkeypatch, tmp_path):
    """jit in $VMLAB_CACHE_DIR (vmlab's cache: the native loop's library is
    in native there), else in the user cache directory (XDG on Linux)."""
    from jit import codecache
    from vmlab.native import aot
    monkeypatch.setenv("VMLAB_CACHE_DIR", str(tmp_path))
    assert codecache.default_directory() == tmp_path / "jit"
    assert aot.directory() == str(tmp_path / "native")
    monkeypatch.delenv("VMLAB_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert codecache.default_directory() == tmp_path / "xdg" / "vmlab" / "jit"
    assert aot.directory() == str(tmp_path / "xdg" / "vmlab" / "native")


def test_a_later_run_compiles_at_once_what_an_earlier_one_compiled(tmp_path):
    """The program's profile (jit.codecache.Profile): where the first run
    waited for the threshold (500 calls, 500 loop iterations), the second
    compiles as soon as it has read the profile (after READ_PROFILE_AFTER
    calls and iterations, 50 of each here)."""
    from jit.tiering import READ_PROFILE_AFTER

    cache, threshold = tmp_path / "cache", ("--jit-threshold", "500")

    def interpreted():
        stats = json.loads((tmp_path / "stats.json").read_text())["jit"]["functions"]
        return stats["<main>"]["interpreted_back_edges"], stats["half"]["interpreted_calls"]
    run(tmp_path, cache, *threshold)
    assert interpreted() == (501, 500)
    assert [p.suffix for p in cache.glob("*.profile")] == [".profile"]
    run(tmp_path, cache, *threshold)
    assert interpreted() == (READ_PROFILE_AFTER // 2, READ_PROFILE_AFTER // 2)
    run(tmp_path, cache, *threshold, "--jit-cache", "off")  # (no cache: no profile either)
    assert interpreted() == (501, 500)


def test_a_hit_needs_no_lowering(tmp_path, monkeypatch):
    """The key is what the lowering reads (the specializations inference
    found), so a run whose code is all in the cache translates nothing."""
    from jit.lower import ModuleBuilder

    assert in_process(tmp_path).misses > 0

    def lowered(*args):
        raise AssertionError("lowered again")
    monkeypatch.setattr(ModuleBuilder, "define", lowered)
    cache = in_process(tmp_path)
    assert cache.misses == 0 and cache.hits > 0


def test_the_run_after_a_tier_up_finds_all_its_code(tmp_path):
    """A run that tiered up compiled an OSR entry whose call after the loop
    links to the callee's baseline code; the next run (its profile says:
    optimized at once) makes the same modules, so the cache has them all.
    (It compiled the callee optimized instead, a new module, and so the OSR
    entry again: 190 ms of n-body's second run.)"""
    from test_jit import COLD_CALL
    (tmp_path / "p.toy").write_text(COLD_CALL)
    env = {"VMLAB_JIT_OPTIMIZE_AFTER": "2000"}
    runs = [vmlab("run", "p.toy", "--jit", "--jit-cache", "cache", "--stats-json", "s.json",
                  "--jit-background", "off", cwd=tmp_path, env=env) for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout == vmlab("run", "p.toy", cwd=tmp_path).stdout
    time = json.loads((tmp_path / "s.json").read_text())["time"]
    assert time["cache_misses"] == 0 and time["cache_hits"] >= 2
