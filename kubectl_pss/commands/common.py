"""Flags and validation shared by several commands."""
from __future__ import annotations

import argparse

from ..errors import UsageError
from ..policy import LEVEL_ERROR, VERSION_ERROR, Level, PolicyValueError, Version, parse_level, parse_version
from ..report.render import OUTPUT_FORMATS


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default="table", help="output format: table, json or yaml (default table)")
    parser.add_argument("--no-color", action="store_true", help="never colour the table (NO_COLOR is honoured too)")


def validate_output(output: str) -> None:
    if output not in OUTPUT_FORMATS:
        raise UsageError(f'unable to match a printer suitable for the output format "{output}", allowed formats are: table, json, yaml')


def level_arg(text: str, flag: str = "--level") -> Level:
    try:
        return parse_level(text)
    except PolicyValueError:
        raise UsageError(f'invalid {flag} "{text}": {LEVEL_ERROR}') from None


def version_arg(text: str, flag: str = "--version") -> Version:
    try:
        return parse_version(text)
    except PolicyValueError:
        raise UsageError(f'invalid {flag} "{text}": {VERSION_ERROR}') from None
