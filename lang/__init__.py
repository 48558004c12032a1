"""lang: toy source text to vmlab bytecode (lexer, parser, checker, compiler)."""

from lang.compiler import compile_source, decode_source

__all__ = ["compile_source", "decode_source"]
