"""A generator of long, varied, valid toy programs (for compile-time benchmarks)."""

from __future__ import annotations

import random


def program(lines: int, seed: int = 1) -> str:
    """About `lines` lines of toy source: functions with loops, branches,
    arithmetic, arrays and calls, then main code calling them all."""
    rng = random.Random(seed)
    out: list[str] = []
    names: list[str] = []
    while len(out) < lines - 10:
        name = f"f{len(names)}"
        out.append(f"fn {name}(n, scale) {{")
        out.append("    let total = 0;")
        out.append("    let data = array(n + 1, 0);")
        out.append("    for i in 0..n {")
        for _ in range(rng.randint(2, 6)):
            a, b = rng.randint(1, 99), rng.randint(1, 9)
            op = rng.choice(["+", "-", "*", "^", "&", "|"])
            out.append(f"        let v{len(out)} = (i * {a} {op} scale) % {b} + {a} << 1;")
            out.append(f"        total = total + v{len(out) - 1};")
        out.append("        if total > 1000000 and not (i == 3) {")
        out.append("            total = total / 2;")
        out.append("        } else if total < 0 or i % 7 == 0 {")
        out.append("            total = -total + int(sqrt(float(i) + 1.5));")
        out.append("        }")
        out.append("        data[i] = total;")
        out.append("    }")
        out.append("    while n > 0 { n = n - 1; if data[n] == 0 { continue; } }")
        if names:
            out.append(f"    return total + {rng.choice(names)}(len(data) % 5, scale + 1);")
        else:
            out.append("    return total;")
        out.append("}")
        out.append("")
        names.append(name)
    out.append("let checksum = 0;")
    for name in names:
        out.append(f"checksum = checksum ^ {name}(3, 7);")
    out.append("print(checksum);")
    return "\n".join(out) + "\n"
