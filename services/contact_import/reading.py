"""Reading an uploaded CSV: its encoding and delimiter, a preview, a guessed mapping, and its rows with line numbers."""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator

ENCODINGS = ("utf-8-sig", "utf-8", "latin-1")
DELIMITERS = (",", ";")
PREVIEW_ROWS = 5
# A column's header -> the field it most likely holds, for the mapping screen's first guess.
_GUESSES = (
    (re.compile(r"phone|mobile|whats ?app|cell|tel|number|handy|telefone?|m[oó]vil|celular", re.I), "phone"),
    (re.compile(r"e-?mail|correo", re.I), "email"),
    (re.compile(r"tags?|labels?|etiquetas?", re.I), "tags"),
    (re.compile(r"name|nom|nombre|nome", re.I), "name"),
)


class Unreadable(ValueError):
    """The file is not a CSV this import can read; the message says why."""


def detect_encoding(data: bytes) -> str:
    """UTF-8 with a byte-order mark, plain UTF-8, or else Latin-1 (which decodes any byte)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def decode(data: bytes, encoding: str) -> str:
    """The file as text in `encoding`."""
    return data.decode(encoding)


def detect_delimiter(text: str) -> str:
    """Semicolon when the header line has more semicolons than commas (spreadsheets in many locales), else comma."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def numbered_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, cells) for every row after the header; blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader, None)
    line = reader.line_num + 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield line, cells
        line = reader.line_num + 1


def header(text: str, delimiter: str) -> list[str]:
    """The header row's cells (column titles)."""
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def count_rows(text: str, delimiter: str) -> int:
    """How many data rows the file has."""
    return sum(1 for _ in numbered_rows(text, delimiter))


def raw_line(cells: list[str], delimiter: str) -> str:
    """The row written back as one CSV line (for the error report)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="").writerow(cells)
    return buffer.getvalue()


def guess_mapping(titles: list[str]) -> dict[str, str]:
    """A first mapping from the column titles: each known field at most once, the rest as custom fields."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for position, title in enumerate(titles):
        field = next((f for pattern, f in _GUESSES if pattern.search(title) and f not in taken), None)
        if field is not None:
            taken.add(field)
            mapping[str(position)] = field
        elif title.strip():
            mapping[str(position)] = f"custom:{title.strip()[:50]}"
    return mapping


def inspect(data: bytes) -> tuple[str, str, str]:
    """(encoding, delimiter, text) of an upload; raises Unreadable for an empty or binary file."""
    if not data.strip():
        raise Unreadable("The file is empty.")
    if b"\x00" in data[:4096]:
        raise Unreadable("This is not a CSV file (it holds binary data). Save it as CSV from your spreadsheet.")
    encoding = detect_encoding(data)
    text = decode(data, encoding)
    titles = header(text, detect_delimiter(text))
    if not any(title.strip() for title in titles):
        raise Unreadable("The first line must name the columns (for example: name, phone, email).")
    return encoding, detect_delimiter(text), text


def preview(text: str, delimiter: str, rows: int = PREVIEW_ROWS) -> list[list[str]]:
    """The first `rows` data rows."""
    found = []
    for _line, cells in numbered_rows(text, delimiter):
        found.append(cells)
        if len(found) >= rows:
            break
    return found
