"""Raw tables: CSV (any encoding and delimiter Excel or WPS write), XLSX, GeoJSON, GPKG.

A reader turns a file into rows of stripped strings and says, with file, row and cell,
what it could not read. Typing and ranges are the table schema's job (models/schema.py).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from lrcplan.models.errors import InputError, Problem

TABLE_EXTENSIONS = (".csv", ".xlsx", ".geojson", ".gpkg")
#: The longest cell read: an id, a name or a timetable is far shorter; a longer cell is a
#: paste gone wrong (and a 10 MB cell would otherwise stall or crash the CSV reader).
MAX_CELL_CHARS = 10_000
#: Rows searched for the header when an Excel sheet has a title row above it.
_HEADER_SEARCH_ROWS = 5
# Invisible characters a copy from a web page or WPS leaves in headers and cells.
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)


@dataclass
class RawTable:
    """A table as text: column names and rows of stripped strings (None when blank)."""

    file: str
    columns: list[str]
    rows: list[dict[str, str | None]]
    row_numbers: list[int]
    geometries: list[Any] | None = None  # shapely geometries (WGS84) for geo formats
    problems: list[Problem] = field(default_factory=list)  # header and row-shape problems
    bad_rows: set[int] = field(default_factory=set)  # indices the reader already rejected
    encoding: str | None = None  # the text encoding a CSV was read with
    notes: list[str] = field(default_factory=list)  # what a user should know, not errors


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.time):  # Excel stores a typed "08:00" as a time of day
        return value.strftime("%H:%M")
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value).strip()
    return text or None


def _header_name(value: Any) -> str:
    # Headers typed in WPS may carry full-width or trailing spaces and a stray BOM.
    return (_clean(value) or "").translate(_INVISIBLE).strip().lower()


def read_table(path: Path, *, encoding: str | None = None,
               expect: Sequence[str] = ()) -> RawTable:
    """Read one table file by its extension; InputError if it cannot be read at all.

    `encoding` forces the text encoding of a CSV without a BOM; `expect` names columns
    that identify the header row when a sheet has a title row above it.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path, encoding, expect)
        if suffix == ".xlsx":
            return _read_xlsx(path, expect)
        if suffix == ".geojson":
            return _read_geojson(path)
        if suffix == ".gpkg":
            return _read_gpkg(path)
    except InputError:
        raise
    except zipfile.BadZipFile:
        raise InputError(f"{path.name}: not an Excel .xlsx workbook (an old .xls or another "
                         "file renamed?): save it as .xlsx or CSV") from None
    except Exception as exc:  # a broken file of any kind is the user's to fix
        raise InputError(f"{path.name}: cannot read the file: {exc}") from None
    raise InputError(f"{path.name}: unsupported table format {suffix!r} "
                     f"(use one of {', '.join(TABLE_EXTENSIONS)})")


# ---------------------------------------------------------------- encodings
_NAMES = {"utf-8": "UTF-8", "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE",
          "gb18030": "GB18030", "cp950": "Big5"}


def encoding_label(codec: str) -> str:
    """A readable name of a Python codec, e.g. "GB18030" or "Big5"."""
    return _NAMES.get(codec, codec)


def check_encoding(name: str) -> str:
    """The Python codec for an encoding named in scenario.toml; ValueError if unknown."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r} (e.g. utf-8, gb18030, big5, "
                         "utf-16)") from None
    # Windows' Big5 (cp950) is what Excel on Traditional Chinese Windows writes.
    return "cp950" if codec in ("big5", "cp950") else codec


def _cjk_weight(char: str, codec: str, common: tuple[int, int]) -> float:
    """How plausible a decoded character is in real text of that encoding."""
    try:
        b = char.encode(codec)
    except UnicodeEncodeError:
        # Private-use characters are what a wrong double-byte guess produces.
        return -1.0 if "\ue000" <= char <= "\uf8ff" else 0.0
    if len(b) == 1 or 0xA1 <= b[0] <= 0xA3 or common[0] <= b[0] <= common[1]:
        return 1.0  # ASCII, punctuation or a level-1 (most common) hanzi
    return 0.5 if b[0] > common[1] else -0.5  # a level-2 hanzi, or kana, Greek, boxes


def _plausibility(text: str, codec: str, common: tuple[int, int]) -> float:
    chars = [c for c in text if ord(c) > 127]
    return sum(_cjk_weight(c, codec, common) for c in chars) / max(1, len(chars))


def _decode(raw: bytes, forced: str | None) -> tuple[str, str]:
    """(text, codec) of a CSV's bytes: BOM, UTF-8, UTF-16 without BOM, GB18030 or Big5."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):
            return raw[len(bom):].decode(codec), codec
    if forced:
        return raw.decode(forced), forced
    head = raw[:4000]
    # UTF-16 without BOM (Excel's "Unicode text"): ASCII letters leave a NUL in every pair.
    if head.count(0) > len(head) // 4:
        codec = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
        return raw.decode(codec), codec
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Excel on Chinese Windows saves CSV in the ANSI code page: GBK/GB18030 on the
    # mainland, Big5 (cp950) in Taiwan and Hong Kong. Both decode most byte strings, so
    # the one whose characters are the commoner hanzi of its own standard wins; ties go
    # to GB18030 and the note printed by `validate` names the choice either way.
    options = []
    for codec, check, common in (("gb18030", "gb2312", (0xB0, 0xD7)),
                                 ("cp950", "big5", (0xA4, 0xC6))):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        options.append((_plausibility(text[:20_000], check, common), codec == "gb18030",
                        text, codec))
    if not options:
        raise UnicodeDecodeError("utf-8", raw, 0, 1, "not UTF-8, UTF-16, GB18030 or Big5")
    _, _, text, codec = max(options)
    return text, codec


# ---------------------------------------------------------------- CSV
def _delimiter(first_line: str) -> str:
    """',' unless the header has no comma but semicolons or tabs (European Excel, or
    Excel's "Unicode text" export renamed to .csv)."""
    if "," in first_line:
        return ","
    counts = {d: first_line.count(d) for d in (";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _find_header(rows: list[list[str]], expect: Sequence[str]) -> int:
    """Index of the header among the first rows: 0 unless a title row sits above it."""
    if not expect:
        return 0
    want = set(expect)
    for i, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        names = {_header_name(v) for v in row}
        if want <= names:
            return i
    return 0


def _read_csv(path: Path, forced: str | None, expect: Sequence[str]) -> RawTable:
    raw = path.read_bytes()
    try:
        text, codec = _decode(raw, forced)
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        if forced:
            raise InputError(f"{path.name}: row {line} cannot be read as "
                             f"{encoding_label(forced)} (the encoding named in "
                             "scenario.toml): save the file as 'CSV UTF-8'") from None
        raise InputError(f"{path.name}: row {line}: the text encoding is not UTF-8, UTF-16, "
                         "GB18030 or Big5: save the file as 'CSV UTF-8', or name its "
                         "encoding in scenario.toml (encoding = \"...\")") from None
    notes = []
    if codec != "utf-8":
        notes.append(f"{path.name}: read as {encoding_label(codec)} (not UTF-8)")
    first = text.split("\n", 1)[0]
    delim = _delimiter(first)
    if delim != ",":
        shown = "tab" if delim == "\t" else repr(delim)
        notes.append(f"{path.name}: the columns are separated by {shown}, not commas; "
                     "read as such")
    old_limit = csv.field_size_limit()
    # Raised so that an over-long cell is reported with its row, not as a csv.Error.
    csv.field_size_limit(max(old_limit, len(text) + 1))
    try:
        # csv.reader on a stream (not splitlines) keeps U+2028 and the like inside cells.
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        lines: list[tuple[int, list[str]]] = []
        for values in reader:
            lines.append((reader.line_num, values))
    finally:
        csv.field_size_limit(old_limit)
    if not lines:
        raise InputError(f"{path.name}: the file is empty (no header row)")
    skip = _find_header([v for _, v in lines[:_HEADER_SEARCH_ROWS]], expect)
    if skip:
        notes.append(f"{path.name}: row(s) 1-{lines[skip][0] - 1} above the header skipped "
                     "(a title row)")
    header = [_header_name(h) for h in lines[skip][1]]
    table = RawTable(path.name, header, [], [], problems=_header_problems(
        path.name, header, lines[skip][0]), encoding=codec, notes=notes)
    width = len(header)
    for n, values in lines[skip + 1:]:
        if not any(v.strip() for v in values):
            continue
        if len(values) > width and any(v.strip() for v in values[width:]):
            table.problems.append(Problem(path.name, n, None, f"{len(values)} cells but the "
                                                              f"header has {width} columns"))
        if sum(map(len, values)) > MAX_CELL_CHARS:
            _long_cells(table, n, header, values)
        # CSV cells are always text: strip them inline rather than through _clean.
        table.rows.append({h: (v.strip() or None) for h, v in zip(header, values,
                                                                  strict=False)})
        table.row_numbers.append(n)
    return table


def _long_cells(table: RawTable, n: int, header: list[str], values: list[str]) -> None:
    for h, v in zip(header, values, strict=False):
        if len(v) > MAX_CELL_CHARS:
            table.problems.append(Problem(table.file, n, h or None,
                                          f"the cell is {len(v):,} characters long (at most "
                                          f"{MAX_CELL_CHARS:,}): a paste gone wrong?"))
            table.bad_rows.add(len(table.rows))


def _header_problems(file: str, header: list[str], row: int = 1) -> list[Problem]:
    """A column named twice would silently shadow the first: report it."""
    seen: set[str] = set()
    out = []
    for h in header:
        if h and h in seen:
            out.append(Problem(file, row, h, "column appears twice in the header"))
        seen.add(h)
    return out


# ---------------------------------------------------------------- XLSX
def _has_formulas(path: Path) -> bool:
    """Whether the first sheet holds any formula (read from the sheet XML, cheaply)."""
    with zipfile.ZipFile(path) as zf:
        names = sorted(n for n in zf.namelist()
                       if n.startswith("xl/worksheets/sheet") and n.endswith(".xml"))
        return any(b"<f" in zf.read(n) for n in names[:1])


_EXCEL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                 "#GETTING_DATA", "#SPILL!", "#CALC!"}


def _read_xlsx(path: Path, expect: Sequence[str]) -> RawTable:
    import openpyxl
    from openpyxl.utils import get_column_letter

    formulas: dict[tuple[int, int], str] = {}
    if _has_formulas(path):
        # openpyxl's data_only view shows a formula's saved value, or None when the file
        # was never opened and saved in Excel/WPS: find those formulas to name them.
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
        try:
            for r, values in enumerate(wb.worksheets[0].iter_rows(values_only=True), 1):
                for c, v in enumerate(values, 1):
                    if isinstance(v, str) and v.startswith("="):
                        formulas[(r, c)] = v
        finally:
            wb.close()
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = wb.worksheets[0]
        grid = list(sheet.iter_rows(values_only=True))
    finally:
        wb.close()
    skip = _find_header([list(r) for r in grid[:_HEADER_SEARCH_ROWS]], expect)
    if not grid or all(v is None for v in grid[skip]):
        raise InputError(f"{path.name}: the first sheet is empty (no header row)")
    header = [_header_name(h) for h in grid[skip]]
    table = RawTable(path.name, header, [], [],
                     problems=_header_problems(path.name, header, skip + 1))
    if skip:
        table.notes.append(f"{path.name}: row(s) 1-{skip} above the header skipped "
                           "(a title row)")
    for n, values in enumerate(grid[skip + 1:], start=skip + 2):
        cleaned = [_clean(v) for v in values]
        if not any(cleaned) and not any((n, c) in formulas for c in range(1, len(values) + 1)):
            continue
        for c, v in enumerate(values, 1):
            where = f"cell {get_column_letter(c)}{n}"
            col = header[c - 1] if c <= len(header) and header[c - 1] else None
            if v is None and (n, c) in formulas:
                table.problems.append(Problem(
                    path.name, n, col, f"{where}: formula {formulas[(n, c)]} without a saved "
                    "value: open and save the file in Excel/WPS"))
                table.bad_rows.add(len(table.rows))
            elif isinstance(v, str) and v.strip() in _EXCEL_ERRORS:
                table.problems.append(Problem(path.name, n, col, f"{where}: the formula "
                                              f"gives the Excel error {v.strip()}"))
                table.bad_rows.add(len(table.rows))
            elif isinstance(v, str) and len(v) > MAX_CELL_CHARS:
                table.problems.append(Problem(path.name, n, col, f"{where} is {len(v):,} "
                                              f"characters long (at most {MAX_CELL_CHARS:,})"))
                table.bad_rows.add(len(table.rows))
        table.rows.append(dict(zip(header, cleaned, strict=False)))
        table.row_numbers.append(n)
    return table


# ---------------------------------------------------------------- GeoJSON, GeoPackage
def _geo_rows(name: str, props: list[dict[str, Any]], geoms: list[Any]) -> RawTable:
    columns: list[str] = []
    for p in props:
        for k in p:
            if _header_name(k) not in columns:
                columns.append(_header_name(k))
    rows = [{_header_name(k): _clean(v) for k, v in p.items()} for p in props]
    for row, g in zip(rows, geoms, strict=True):
        # Point layers give lon/lat by geometry where the columns are absent.
        if g is not None and g.geom_type == "Point":
            if row.get("lon") is None:
                row["lon"] = repr(g.x)
            if row.get("lat") is None:
                row["lat"] = repr(g.y)
    if any(g is not None and g.geom_type == "Point" for g in geoms):
        columns += [c for c in ("lon", "lat") if c not in columns]
    return RawTable(name, columns, rows, list(range(1, len(rows) + 1)), geoms)


def _feature_geometry(file: str, n: int, feature: Any, problems: list[Problem]) -> Any:
    """The shapely geometry of feature n, or None with a problem naming the feature."""
    props = feature.get("properties") if isinstance(feature, dict) else None
    label = f"feature {n}"
    if isinstance(props, dict) and props.get("name") is not None:
        label += f" ({props['name']!r})"
    if not isinstance(feature, dict) or not feature.get("geometry"):
        problems.append(Problem(file, n, "geometry", f"{label} has no geometry"))
        return None
    try:
        with warnings.catch_warnings():  # NaN vertices: reported below with the feature
            warnings.simplefilter("ignore", RuntimeWarning)
            geom = shape(feature["geometry"])
    except Exception as exc:  # shapely raises several error types for malformed input
        problems.append(Problem(file, n, "geometry", f"{label}: malformed geometry: {exc}"))
        return None
    import shapely

    coords = shapely.get_coordinates(geom)
    if not coords.size or not math.isfinite(float(coords.sum())):
        problems.append(Problem(file, n, "geometry", f"{label}: a coordinate is missing, "
                                                     "NaN or infinite"))
        return None
    return geom


def _read_geojson(path: Path) -> RawTable:
    # Parsed here rather than by GDAL so coordinates round-trip bit for bit.
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: GeoJSON must be UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name}: not valid JSON: line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InputError(f"{path.name}: expected a GeoJSON FeatureCollection")
    crs = (data.get("crs") or {}).get("properties", {}).get("name", "")
    if crs and "4326" not in crs and "CRS84" not in crs:
        raise InputError(f"{path.name}: coordinates must be WGS84 lon/lat, file says {crs}")
    feats = data.get("features") or []
    problems: list[Problem] = []
    geoms = [_feature_geometry(path.name, n, f, problems) for n, f in enumerate(feats, 1)]
    props = [dict(f.get("properties") or {}) if isinstance(f, dict) else {} for f in feats]
    table = _geo_rows(path.name, props, geoms)
    table.problems.extend(problems)
    table.bad_rows.update(p.row - 1 for p in problems if p.row is not None)
    return table


def _read_gpkg(path: Path) -> RawTable:
    import pyogrio

    df = pyogrio.read_dataframe(path)
    if df.crs is not None and not df.crs.equals("EPSG:4326"):
        df = df.to_crs("EPSG:4326")
    props = df.drop(columns="geometry").to_dict("records")
    return _geo_rows(path.name, props, list(df.geometry))

