"""A table-driven LALR(1) lexer and parser running lark's generated tables.

The tables (`lang.tables`) come from `toy.lark` through lark; this module is
the small engine that runs them, shaping the parse tree exactly as lark's
tree builder would (anonymous tokens dropped, `_rules` spliced, `?rules` with
one child inlined) and handing each reduction to a builder method named after
the rule's alias. The LALR stacks are explicit lists, so no input nests deep
enough to exhaust Python's own stack here.
"""

from __future__ import annotations

import re

from lang import tables

_TOKEN = re.compile(tables.TOKEN_RE)
_KEYWORDS = tables.KEYWORDS
_IGNORED = tables.IGNORED
_RULES = tables.RULES
_ACTIONS = tables.ACTIONS
END = "$END"


class Token:
    """A lexeme with its 1-based position (the attribute names are lark's)."""

    __slots__ = ("type", "value", "line", "column", "end_line", "end_column")

    def __init__(self, type_, value, line, column, end_line, end_column):
        self.type, self.value = type_, value
        self.line, self.column = line, column
        self.end_line, self.end_column = end_line, end_column

    def __repr__(self):
        return f"Token({self.type!r}, {self.value!r})"


class LexError(Exception):
    def __init__(self, char: str, line: int, column: int):
        super().__init__(char)
        self.char, self.line, self.column = char, line, column


class NestingError(Exception):
    """Brackets nested deeper than the parser's limit."""

    def __init__(self, line: int, column: int):
        super().__init__(line, column)
        self.line, self.column = line, column


class ParseError(Exception):
    """The token cannot continue the program; `expected` lists what could."""

    def __init__(self, token: Token, expected: set[str], previous: Token | None):
        super().__init__(token.type)
        self.token, self.expected, self.previous = token, expected, previous


_OPENS = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def tokenize(text: str, max_nesting: int):
    """Yield the tokens of `text`, then one END token.

    Raises NestingError when brackets of any kind nest deeper than max_nesting.
    """
    line, line_start, pos, n = 1, 0, 0, len(text)
    nesting = 0
    match = _TOKEN.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            raise LexError(text[pos], line, pos - line_start + 1)
        kind, value = m.lastgroup, m.group()
        end = m.end()
        if kind in _IGNORED:
            newlines = value.count("\n")
            if newlines:
                line += newlines
                line_start = pos + value.rindex("\n") + 1
        else:
            if kind == "NAME":
                kind = _KEYWORDS.get(value, kind)
            col = pos - line_start + 1
            if value in _OPENS:
                nesting += _OPENS[value]
                if nesting > max_nesting:
                    raise NestingError(line, col)
            yield Token(kind, value, line, col, line, col + len(value))
        pos = end
    col = pos - line_start + 1
    yield Token(END, "", line, col, line, col)


def _accepts(states: list[int], terminal: str) -> bool:
    """Would `terminal` be shifted after the reductions it triggers?"""
    states = states[:]
    while True:
        action = _ACTIONS[states[-1]].get(terminal)
        if action is None:
            return False
        if action >= 0:
            return True
        lhs, size = _RULES[~action][:2]
        if size:
            del states[-size:]
        states.append(_ACTIONS[states[-1]][lhs])
        if terminal == END and states[-1] == tables.END_STATE:
            return True


def _acceptable(states: list[int]) -> set[str]:
    """The terminals that could come next. (An LALR state may list more: its
    default reductions were merged from other contexts.)"""
    candidates = {s for s in _ACTIONS[states[-1]] if s.isupper() or s == END}
    return {t for t in candidates if _accepts(states, t)}


class _Splice(list):
    """The children of a `_rule`, to be spliced into its parent's."""


def parse(text: str, builder, max_nesting: int = 1000):
    """Parse `text`, calling `builder.<rule alias>(children)` per reduction."""
    states = [tables.START_STATE]
    values: list = []
    previous = None
    for token in tokenize(text, max_nesting):
        while True:
            action = _ACTIONS[states[-1]].get(token.type)
            if action is None:
                raise ParseError(token, _acceptable(states), previous)
            if action >= 0:  # shift
                states.append(action)
                values.append(token)
                break
            lhs, size, callback, inline_single, keep = _RULES[~action]
            if size:
                popped = values[-size:]
                del values[-size:], states[-size:]
            else:
                popped = []
            children = []
            for i in keep:
                child = popped[i]
                if type(child) is not _Splice:
                    children.append(child)
                elif children:
                    children.extend(child)
                else:  # a splice is consumed once: grow it in place, so that
                    children = child  # a list of n items costs O(n), not O(n^2)
            if callback is None:
                node = children if type(children) is _Splice else _Splice(children)
            elif inline_single and len(children) == 1:
                node = children[0]
            else:
                node = getattr(builder, callback)(children)
            states.append(_ACTIONS[states[-1]][lhs])
            values.append(node)
            if token.type == END and states[-1] == tables.END_STATE:
                return node
        previous = token
    raise AssertionError("the END token always ends the parse")
