# SPDX-License-Identifier: AGPL-3.0-or-later
"""Tables on teacher pages, and the same tables as CSV files to download.

A page builds a ``Table`` (named columns, rows of plain values) and shows
it; ``?export=csv`` on the same address answers the same rows as a CSV file
that opens in Excel or LibreOffice with Cyrillic intact (UTF-8 with a byte
order mark).

Text a child's name or a CSV import brought in could start with ``=``,
``+``, ``-`` or ``@``, which a spreadsheet would run as a formula (CSV
injection); such cells get a leading apostrophe, which spreadsheets show as
text. Numbers are written as numbers. Pure functions: safe from any thread.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from flask import Response, request

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BOM = "\ufeff"


@dataclass
class Table:
    name: str
    columns: list  # (key, header) pairs
    rows: list = field(default_factory=list)  # dicts by key

    @property
    def keys(self) -> list[str]:
        return [key for key, _header in self.columns]


def wants_csv() -> bool:
    return request.args.get("export") == "csv"


def neutralise(value):
    """A cell value a spreadsheet shows as it is and never runs."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_text(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(header) for _key, header in table.columns])
    for row in table.rows:
        writer.writerow([neutralise(row.get(key)) for key in table.keys])
    return _BOM + out.getvalue()


def csv_response(table: Table, filename: str) -> Response:
    """The table as a download named ``filename`` (``.csv`` is added)."""
    response = Response(csv_text(table), mimetype="text/csv")
    response.headers["Content-Disposition"] = _attachment(f"{filename}.csv")
    return response


def _attachment(filename: str) -> str:
    # Headers are Latin-1: a Cyrillic class name travels in filename*
    # (RFC 6266 / RFC 5987); filename= keeps an ASCII stand-in for old
    # browsers.
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("_") or "table.csv"
    return (
        f'attachment; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    )
