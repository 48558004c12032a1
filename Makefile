# `make demo` and `make test` each create or refresh .venv, install vmlab into
# it, then run a demo program / the whole test suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: demo test bench fuzz venv grammar clean

venv:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --config-settings editable_mode=compat -e '.[test]'
	@# Byte-compile now: imports stay fast even where PYTHONDONTWRITEBYTECODE is set.
	@$(BIN)/python -m compileall -q vmlab lang jit bench

demo: venv
	@mkdir -p build
	$(BIN)/vmlab compile examples/mandelbrot.toy -o build/mandelbrot.toyc
	$(BIN)/vmlab run build/mandelbrot.toyc | tee build/mandelbrot.out
	@echo '--- the same .toyc file in the native interpreter and tiered by the JIT:'
	$(BIN)/vmlab run build/mandelbrot.toyc --interp native | cmp - build/mandelbrot.out && echo 'native interpreter: the same output'
	$(BIN)/vmlab run build/mandelbrot.toyc --jit --jit-log | cmp - build/mandelbrot.out && echo 'JIT: the same output'
	@echo '--- what the JIT makes of escape_time, here and on two other CPUs, beside its bytecode:'
	$(BIN)/vmlab asm build/mandelbrot.toyc --fn escape_time --profile --target host,aarch64,riscv64 | tail -6
	$(BIN)/vmlab dis examples/fib.toy --fn fib

test: venv
	$(BIN)/python -m pytest --benchmark-disable

# Every benchmark in every tier and peer, quick sizes (about 1.5 minutes).
bench: venv
	$(BIN)/vmlab bench --quick

# Fuzzing campaigns (tests/fuzz.py): N generated programs through every
# tier, N mutated sources and 10 N mutated .toyc files. `make fuzz N=10000`.
N ?= 1000
fuzz: venv
	$(BIN)/python tests/fuzz.py programs $(N)
	$(BIN)/python tests/fuzz.py sources $(N)
	$(BIN)/python tests/fuzz.py toyc $$(( $(N) * 10 ))

# Regenerate lang/tables.py after editing lang/toy.lark.
grammar: venv
	$(BIN)/python -m lang.gen_tables

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .benchmarks
