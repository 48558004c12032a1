"""bench: benchmark programs and the harness that times vmlab's tiers."""
