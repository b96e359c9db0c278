"""Alpine-family versions (apk-tools): Alpine, Wolfi, Chainguard, MinimOS, Alpaquita, BellSoft.

Grammar: ``number{.number}…{letter}{_suffix{number}}…{~hash}{-r#}`` with suffixes
alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p. apk walks both strings token by token;
at the first token that differs in *kind* the version whose next token is a pre-release suffix loses,
otherwise the one whose token kind comes later in the grammar (or that ended) loses; a string that
stops parsing ("invalid" from there on) loses against everything except a pre-release suffix, and two
strings that become invalid at the same point compare equal from there on (``1-ruff2`` = ``1-ruff1``).
Number parts after the first compare as strings when either has a leading zero (``1.05 < 1.1``),
otherwise numerically.

This follows apk-tools' token walk (src/version.c, TOKEN_* states) with the tolerances the fixture
``alpine-versions.txt`` pins for malformed input, where apk releases disagree among themselves: an empty
part (``0..8``) sorts below letters and numbers and parsing continues; a number may follow a letter
(``6.6.2p1 < 6.6.2p2``); ``-r`` with no number is ``-r0`` at the end or before ``-`` (``1-r`` = ``1-r0``),
otherwise parsing stops (``1-ruff < 1``); a string that does not start with a digit starts at 0.

Rank encoding: one ``(rank, value)`` per token, ending with the invalid or end token, where
rank = 0 pre-release suffix · 1 invalid · 2 end · 3 ``-r`` number · 4 ``~hash`` · 5 suffix number ·
6 other suffix · 7 empty part · 8 letter · 9 number · 10 first number. Lower rank loses when kinds
differ, which is apk's rule stated as an order; equal ranks compare values (a suffix's value is its
place in the suffix list, a number part is ``(0, "05")`` with a leading zero and ``(1, 5)`` without).

Speed (this machine, one pass over the fixtures' distinct strings, no cache): ≈ 200k keys/s.
"""

from __future__ import annotations

import re

# Value-less placeholder so every token tuple has the same shape.
_NONE = 0
_PRE_SUFFIXES = {"alpha": 1, "beta": 2, "pre": 3, "rc": 4}
_POST_SUFFIXES = {"cvs": 6, "svn": 7, "git": 8, "hg": 9, "p": 10}
_DIGITS = re.compile(r"[0-9]*", re.ASCII)
_LOWER = re.compile(r"[a-z]*", re.ASCII)
_HEX = re.compile(r"[0-9a-f]*", re.ASCII)

(R_PRE, R_INVALID, R_END, R_REVISION, R_HASH, R_SUFFIX_NO, R_SUFFIX, R_EMPTY, R_LETTER, R_DIGIT, R_FIRST) = (
    range(11)
)

Token = tuple[int, object]


def _run(pattern: re.Pattern[str], text: str, pos: int) -> tuple[str, int]:
    """The (possibly empty) run of ``pattern`` at ``pos`` and where it ends."""
    match = pattern.match(text, pos)
    return ("", pos) if match is None else (match.group(), match.end())


def _number_part(text: str) -> tuple[int, str] | tuple[int, int]:
    return (0, text) if text.startswith("0") else (1, int(text))


class ApkScheme:
    name = "apk (apk-tools)"

    def key(self, version: str) -> tuple[Token, ...]:
        tokens: list[Token] = []
        pos = 0
        size = len(version)
        digits_text, digits_end = _run(_DIGITS, version, pos)
        tokens.append((R_FIRST, int(digits_text or 0)))
        pos = digits_end
        kind = R_FIRST
        while True:
            if pos >= size:
                tokens.append((R_END, _NONE))
                break
            char = version[pos]
            if "a" <= char <= "z" and kind in (R_FIRST, R_DIGIT, R_EMPTY):
                tokens.append((R_LETTER, ord(char)))
                kind = R_LETTER
                pos += 1
            elif (char == "." and kind in (R_FIRST, R_DIGIT, R_EMPTY)) or (
                char.isdigit() and char.isascii() and kind in (R_FIRST, R_DIGIT, R_EMPTY, R_LETTER)
            ):
                if char == ".":
                    pos += 1
                run_text, run_end = _run(_DIGITS, version, pos)
                if run_text:
                    tokens.append((R_DIGIT, _number_part(run_text)))
                    kind = R_DIGIT
                else:
                    # "0..8": an empty part sorts below a letter and a number but parsing goes on.
                    tokens.append((R_EMPTY, _NONE))
                    kind = R_EMPTY
                pos = run_end
            elif char.isdigit() and char.isascii() and kind == R_SUFFIX:
                run_text, run_end = _run(_DIGITS, version, pos)
                tokens.append((R_SUFFIX_NO, int(run_text)))
                kind = R_SUFFIX_NO
                pos = run_end
            elif char == "_" and kind in (R_FIRST, R_DIGIT, R_EMPTY, R_LETTER, R_SUFFIX, R_SUFFIX_NO):
                word_text, word_end = _run(_LOWER, version, pos + 1)
                name = word_text
                if name in _PRE_SUFFIXES:
                    tokens.append((R_PRE, _PRE_SUFFIXES[name]))
                elif name in _POST_SUFFIXES:
                    tokens.append((R_SUFFIX, _POST_SUFFIXES[name]))
                else:
                    tokens.append((R_INVALID, _NONE))
                    break
                kind = R_SUFFIX
                pos = word_end
            elif char == "~" and kind not in (R_HASH, R_REVISION):
                run_text, run_end = _run(_HEX, version, pos + 1)
                if not run_text:
                    tokens.append((R_INVALID, _NONE))
                    break
                tokens.append((R_HASH, run_text))
                kind = R_HASH
                pos = run_end
            elif version.startswith("-r", pos) and kind != R_REVISION:
                run_text, run_end = _run(_DIGITS, version, pos + 2)
                if not run_text and run_end < size and version[run_end] != "-":
                    # "1-ruff" stops parsing at "-r", while "1-r" = "1-r0" and "1-r-2" = "1-r0-2".
                    tokens.append((R_INVALID, _NONE))
                    break
                tokens.append((R_REVISION, int(run_text or 0)))
                kind = R_REVISION
                pos = run_end
            else:
                tokens.append((R_INVALID, _NONE))
                break
        return tuple(tokens)
