"""Checks at the store's boundary: texts, user names, importance, k. Each failure is an InvalidInput."""

from __future__ import annotations

import re

from memory_store.errors import InvalidInput

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def check_text(text: object, max_chars: int) -> str:
    """A fact's text, stripped; refuses non-strings, empty text, NUL bytes and text over the limit."""
    if not isinstance(text, str):
        raise InvalidInput(f"a fact must be text, not {type(text).__name__}")
    if "\x00" in text:
        raise InvalidInput("a fact cannot contain NUL bytes")
    try:
        text.encode("utf-8")  # fails on lone surrogates only (a C-speed check)
    except UnicodeEncodeError:
        raise InvalidInput("a fact contains invalid Unicode (lone surrogates, e.g. from undecodable bytes)") from None
    text = text.strip()
    if not text:
        raise InvalidInput("a fact cannot be empty or only whitespace")
    if len(text) > max_chars:
        raise InvalidInput(f"a fact can be at most {max_chars} characters; this one has {len(text)}")
    return text


def check_query(text: object, max_chars: int) -> str:
    try:
        return check_text(text, max_chars)
    except InvalidInput as e:
        raise InvalidInput(str(e).replace("a fact", "a query", 1)) from None


def check_user(user: object) -> str:
    if not isinstance(user, str) or not USER_NAME.match(user):
        raise InvalidInput(
            f"invalid user name {user!r}: use 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit"
        )
    return user


def check_importance(importance: object) -> float:
    try:
        value = float(importance)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"importance must be a number in [0, 1], not {importance!r}") from None
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"importance must lie in [0, 1], not {value}")
    return value


def check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise InvalidInput(f"k must be a whole number of at least 1, not {k!r}")
    return k
