"""Source text to AST: literal checks, nesting limit, friendly syntax errors.

`AstBuilder` has one method per grammar alias in `toy.lark`; the LALR engine
(`lang.lalr`) calls it at each reduction, so the AST is built in the same
pass as the parse. Lexical and syntax errors become CompileErrors worded for
people ("unexpected ';', expected an expression"), not terminal names.
"""

from __future__ import annotations

from lang import ast, lalr
from lang.tables import LITERALS
from vmlab.errors import CompileError
from vmlab.values import INT_MAX

MAX_DEPTH = 1000  # nesting levels of expressions and blocks (docs/language.md)
_TOO_DEEP = f"nesting too deep (more than {MAX_DEPTH} levels)"

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"'}


def _depth(*nodes) -> int:
    return max((n.depth for n in nodes if n is not None), default=0)


def _at(node_type, token, *values):
    return node_type(token.line, token.column, *values)


class AstBuilder:
    """Builds AST nodes from the children of each reduction."""

    def _nested(self, node, *children):
        """An expression or block: one level deeper than its deepest child."""
        node.depth = _depth(*children) + 1
        if node.depth > MAX_DEPTH:
            raise CompileError(_TOO_DEEP, node.line, node.col)
        return node

    def _statement(self, node, *children):
        """A statement: as deep as its deepest child (its blocks count)."""
        node.depth = _depth(*children)
        return node

    # --- top level ---
    def start(self, items):
        return ast.Program(1, 1, items)

    def fndef(self, c):
        fn_token, name, params, body = c
        return ast.FnDef(name.line, name.column, name.value, params, body)

    def params(self, names):
        return [_at(ast.Param, t, t.value) for t in names]

    def block(self, c):
        brace, *stmts = c
        return self._nested(_at(ast.Block, brace, stmts), *stmts)

    # --- statements ---
    def let(self, c):
        let_token, name, value = c
        return self._statement(_at(ast.Let, name, name.value, value), value)

    def assign(self, c):
        target, eq, value = c
        if not isinstance(target, (ast.Name, ast.Index)):
            raise CompileError("cannot assign to this expression", target.line, target.col)
        return self._statement(_at(ast.Assign, eq, target, value), target, value)

    def if_stmt(self, c):
        cond, then = c[1], c[2]
        orelse = c[4] if len(c) > 3 else None
        return self._statement(_at(ast.If, c[0], cond, then, orelse), cond, then, orelse)

    def while_(self, c):
        kw, cond, body = c
        return self._statement(_at(ast.While, kw, cond, body), cond, body)

    def for_(self, c):
        kw, var, in_, lo, hi, body = c
        return self._statement(_at(ast.For, var, var.value, lo, hi, body), lo, hi, body)

    def break_(self, c):
        return _at(ast.Break, c[0])

    def continue_(self, c):
        return _at(ast.Continue, c[0])

    def return_(self, c):
        value = c[1] if len(c) > 1 else None
        return self._statement(_at(ast.Return, c[0], value), value)

    def expr_stmt(self, c):
        expr, = c
        return self._statement(ast.ExprStmt(expr.line, expr.col, expr), expr)

    # --- expressions ---
    def logical(self, c):
        left, op, right = c
        return self._nested(_at(ast.Logical, op, op.value, left, right), left, right)

    def binary(self, c):
        left, op, right = c
        return self._nested(_at(ast.Binary, op, op.value, left, right), left, right)

    def unary(self, c):
        op, operand = c
        return self._nested(_at(ast.Unary, op, op.value, operand), operand)

    def call(self, c):
        name, args = c
        return self._nested(_at(ast.Call, name, name.value, args), *args)

    def index(self, c):
        obj, bracket, idx = c
        return self._nested(_at(ast.Index, bracket, obj, idx), obj, idx)

    def args(self, exprs):
        return exprs

    def array(self, c):
        bracket, items = c
        if not items:
            raise CompileError("empty array literal: use array(0, v) for an empty array",
                               bracket.line, bracket.column)
        return self._nested(_at(ast.ArrayLit, bracket, items), *items)

    def int_(self, c):
        t, = c
        digits = t.value.lstrip("0")
        if len(digits) > 19 or int(digits or "0") > INT_MAX:
            raise CompileError(f"integer literal too large (the largest int is {INT_MAX})",
                               t.line, t.column)
        return _at(ast.Int, t, int(digits or "0"))

    def float_(self, c):
        t, = c
        value = float(t.value)
        if value == float("inf"):
            raise CompileError("float literal too large", t.line, t.column)
        return _at(ast.Float, t, value)

    def string(self, c):
        t, = c
        out, chars, i = [], t.value, 1
        while i < len(chars) - 1:
            ch = chars[i]
            if ch == "\\":
                esc = chars[i + 1]
                if esc not in _ESCAPES:
                    raise CompileError(f"unknown escape '\\{esc}' in string "
                                       "(use \\n, \\t, \\\\ or \\\")", t.line, t.column + i)
                out.append(_ESCAPES[esc])
                i += 2
            else:
                out.append(ch)
                i += 1
        return _at(ast.Str, t, "".join(out))

    def true(self, c):
        return _at(ast.Bool, c[0], True)

    def false(self, c):
        return _at(ast.Bool, c[0], False)

    def nil(self, c):
        return _at(ast.Nil, c[0])

    def name(self, c):
        return _at(ast.Name, c[0], c[0].value)


# --- error messages -----------------------------------------------------------

_EXPR_START = {"INT", "FLOAT", "STRING", "TRUE", "FALSE", "NIL", "NAME", "LPAR",
               "LBRACKET", "MINUS", "TILDE", "NOT"}
_STMT_START = {"LET", "IF", "WHILE", "FOR", "BREAK", "CONTINUE", "RETURN"}
_COMPARISONS = {"EQ", "NE", "LT", "LE", "GT", "GE"}
# Tokens that could always continue an expression: not worth listing.
_OPERATORS = {"OR", "AND", "EQ", "NE", "LT", "LE", "GT", "GE", "PIPE", "CARET", "AMP",
              "SHL", "SHR", "PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "LBRACKET",
              "LPAR", "ASSIGN"}


def _describe(token: lalr.Token) -> str:
    kind, text = token.type, token.value
    if kind == lalr.END:
        return "end of file"
    if kind == "NAME":
        return f"name '{text}'"
    if kind in ("INT", "FLOAT"):
        return f"number {text if len(text) <= 24 else text[:20] + '...'}"
    if kind == "STRING":
        return "string"
    return f"'{text}'"


def _expected(expected: set[str]) -> str:
    """Words for what the parser could have accepted, or '' if too many."""
    parts = []
    if "LET" in expected:
        parts.append("a statement")
        expected = expected - _STMT_START - _EXPR_START
    elif {"INT", "NAME", "LPAR"} <= expected:
        parts.append("an expression")
        expected = expected - _EXPR_START
    rest = expected - _OPERATORS
    if not rest and not parts:  # only operators could follow: name them
        rest = expected
    words = sorted("end of file" if t == lalr.END else
                   "a name" if t == "NAME" else f"'{LITERALS.get(t, t)}'" for t in rest)
    parts += words
    if not parts or len(parts) > 4:
        return ""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _syntax_error(error: lalr.ParseError) -> CompileError:
    token, prev = error.token, error.previous
    found = _describe(token)
    if "SEMICOLON" in error.expected and prev is not None and token.line > prev.end_line:
        # A missing ';' at the end of a line: point just after the line's last token.
        return CompileError("expected ';'", prev.end_line, prev.end_column)
    if token.type in _COMPARISONS and "INT" not in error.expected:
        message = f"unexpected {found} (comparisons do not chain: write a < b and b < c)"
    else:
        expected = _expected(error.expected)
        message = f"unexpected {found}" + (f", expected {expected}" if expected else "")
    return CompileError(message, token.line, token.column)


def _lex_error(error: lalr.LexError) -> CompileError:
    ch = error.char
    if ch == '"':
        message = "unterminated string (strings end on the same line)"
    elif ch.isprintable() and not ch.isspace():
        message = f"unexpected character '{ch}'"
    else:
        message = f"unexpected character U+{ord(ch):04X}"
    return CompileError(message, error.line, error.column)


def parse(source: str) -> ast.Program:
    """Parse source text into an AST; raise CompileError on bad input."""
    try:
        return lalr.parse(source, AstBuilder(), MAX_DEPTH)
    except lalr.NestingError as e:
        raise CompileError(_TOO_DEEP, e.line, e.column) from None
    except lalr.LexError as e:
        raise _lex_error(e) from None
    except lalr.ParseError as e:
        raise _syntax_error(e) from None
