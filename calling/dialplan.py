"""Dial-plan rules as regular expressions, written once for the portal/API validators, the engine renderer
(calling/engine/render.py) and the call-routing test (calling/engine/routing.py).

Pure functions only: strings in, strings or `ValueError` (with an administrator-readable reason) out.

- **Patterns** (translation patterns, premises dial patterns) use Control Hub's syntax: digits, `X` for any one
  digit, `!` as the last character for one or more digits, an optional leading `+`. They become anchored
  regular expressions with one capture group per run of wildcards.
- **Replacements** of translation patterns: digits and wildcard runs; the n-th run of the replacement takes the
  digits of the n-th run of the matching pattern and must be as long (`!` takes what `!` matched). Kamailio's
  dialplan module knows back-references \\1 to \\9, so a pattern has at most nine runs.
- **Call types** of a +E.164 destination, seen from a location: toll-free, premium, local (the area code of the
  location's main number), national, international — as classification rules whose `attrs` is the call type.
"""
from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneMetadata

MAX_PATTERN = 32
MAX_RUNS = 9
_RUN = re.compile(r"X+|!")


def _check_syntax(pattern: str, what: str) -> str:
    pattern = (pattern or "").strip().upper()
    if not pattern:
        raise ValueError(f"Enter a {what}.")
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"A {what} has at most {MAX_PATTERN} characters.")
    bad = next((c for c in pattern if c not in "+0123456789X!"), None)
    if bad is not None:
        raise ValueError(f"A {what} may hold digits, X (any digit) and ! (one or more digits, at the end) "
                         f"only, not {bad!r}.")
    if "+" in pattern[1:]:
        raise ValueError(f"A + may only start a {what}.")
    if "!" in pattern[:-1]:
        raise ValueError(f"! may only end a {what}.")
    if not re.search(r"[0-9X!]", pattern):
        raise ValueError(f"A {what} needs at least one digit, X or !.")
    return pattern


def pattern_runs(pattern: str) -> list[str]:
    """The wildcard runs of a pattern in order, e.g. '+4681XX!' -> ['XX', '!']."""
    return _RUN.findall(pattern)


def pattern_regex(pattern: str, what: str = "matching pattern") -> str:
    """An anchored regex for a pattern, one capture group per wildcard run ('8XXXX' -> '^8([0-9]{4})$')."""
    pattern = _check_syntax(pattern, what)
    if len(pattern_runs(pattern)) > MAX_RUNS:
        raise ValueError(f"A {what} has at most {MAX_RUNS} separate groups of X.")
    parts = []
    for token in re.findall(r"X+|!|\+|[0-9]+", pattern):
        if token == "+":
            parts.append(r"\+")
        elif token == "!":
            parts.append("([0-9]+)")
        elif token[0] == "X":
            parts.append(f"([0-9]{{{len(token)}}})" if len(token) > 1 else "([0-9])")
        else:
            parts.append(token)
    return "^" + "".join(parts) + "$"


def replacement_template(matching: str, replacement: str) -> str:
    """The dialplan replacement for a translation pattern ('+4681XXXX' with runs -> '+4681\\1').

    Raises ValueError naming the run that does not fit the matching pattern.
    """
    matching = _check_syntax(matching, "matching pattern")
    replacement = _check_syntax(replacement, "replacement pattern")
    source_runs = pattern_runs(matching)
    target_runs = pattern_runs(replacement)
    if len(target_runs) > len(source_runs):
        raise ValueError(f"The replacement pattern has {len(target_runs)} group(s) of X or ! but the matching "
                         f"pattern only {len(source_runs)}: every X in the replacement must come from the "
                         "matching pattern.")
    for index, (source, target) in enumerate(zip(source_runs, target_runs, strict=False), start=1):
        if source != target:
            raise ValueError(f"Group {index} of the replacement pattern is {target!r} but the matching pattern's "
                             f"group {index} is {source!r}; they must be the same length.")
    out, run = [], 0
    for token in re.findall(r"X+|!|\+|[0-9]+", replacement):
        if token == "!" or token[0] == "X":
            run += 1
            out.append(f"\\{run}")
        else:
            out.append(token)
    return "".join(out)


def apply_replacement(match_regex: str, repl: str, dialled: str) -> str | None:
    """What Kamailio's dialplan makes of `dialled` with one rule: None when the rule does not match."""
    found = re.search(match_regex, dialled)
    if found is None:
        return None
    return re.sub(r"\\([1-9])", lambda m: found.group(int(m.group(1))) or "", repl)


def dial_pattern_regex(pattern: str) -> str:
    """A premises dial pattern must be +E.164-shaped: a leading +, then digits, X and a final !."""
    pattern = _check_syntax(pattern, "dial pattern")
    if not pattern.startswith("+") or len(pattern) < 3 or not pattern[1].isdigit() or pattern[1] == "0":
        raise ValueError("A dial pattern starts with + and a country code, e.g. +1408555XXXX or +4610!.")
    return pattern_regex(pattern, "dial pattern")


def specificity(pattern: str) -> tuple:
    """Sort key: the most specific pattern first (no !, more fixed digits, longer), then by text."""
    return ("!" in pattern, -sum(c.isdigit() for c in pattern), -len(pattern), pattern)


# --------------------------------------------------------------------------------------------- call types

INTERNATIONAL, NATIONAL, LOCAL = "INTERNATIONAL", "NATIONAL", "LOCAL"
TOLL_FREE, PREMIUM = "TOLL_FREE", "PREMIUM_SERVICES_I"


def _desc_regex(desc, general) -> str | None:
    """Digits after the country code that fit a number type: a length lookahead, then its pattern, to the end."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = [n for n in (desc.possible_length or general.possible_length) if n > 0]
    if not lengths:
        return None
    low, high = min(lengths), max(lengths)
    span = f"{low}" if low == high else f"{low},{high}"
    return f"(?=[0-9]{{{span}}}$)(?:{desc.national_number_pattern})$"


def area_code(main_number: str | None) -> str | None:
    """The geographic area code of a location's main number (+4681234567 -> '8'), None when it has none."""
    if not main_number:
        return None
    try:
        parsed = phonenumbers.parse(main_number, None)
    except phonenumbers.NumberParseException:
        return None
    length = phonenumbers.length_of_geographical_area_code(parsed)
    if not length:
        return None
    return phonenumbers.national_significant_number(parsed)[:length]


def call_type_rules(country: str, main_number: str | None = None) -> list[tuple[int, str, str]]:
    """(priority, regex over +E.164, call type) classifying what a location's users call off-net.

    Priority order: toll-free, premium rate, local (same area code as the main number), national (the
    location's country code), international (anything else). The regexes wrap the whole number in group 1 so
    a dialplan rule can keep it unchanged (repl \\1).
    """
    rules: list[tuple[int, str, str]] = []
    meta = PhoneMetadata.metadata_for_region((country or "").upper())
    if meta is not None:
        cc = meta.country_code
        general = meta.general_desc
        # the lookahead works on the digits after the country code
        for pr, desc, kind in ((10, meta.toll_free, TOLL_FREE), (11, meta.premium_rate, PREMIUM)):
            body = _desc_regex(desc, general)
            if body:
                rules.append((pr, rf"^(\+{cc}{body})", kind))
        code = area_code(main_number)
        if code and phonenumbers.parse(main_number, None).country_code == cc:
            fixed = _desc_regex(meta.fixed_line, general)
            if fixed:
                rules.append((20, rf"^(\+{cc}(?={code}){fixed})", LOCAL))
        rules.append((30, rf"^(\+{cc}[0-9]+)$", NATIONAL))
    rules.append((40, r"^(\+[0-9]+)$", INTERNATIONAL))
    return rules


def classify(rules: list[tuple[int, str, str]], e164: str) -> str | None:
    for _pr, regex, kind in sorted(rules):
        if re.search(regex, e164):
            return kind
    return None
