"""The LRC eligibility standard as data: thresholds per disability category, from TOML."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import tomli_w

from lrcplan.models.errors import Problem, ScenarioError

DEFAULT_STANDARD = Path(__file__).with_name("standard.toml")


@dataclass(frozen=True)
class Vision:
    """Best corrected acuity range of low vision."""

    acuity_min: float
    acuity_below: float


@dataclass(frozen=True)
class Hearing:
    """Better-ear hearing loss range, and aided results that qualify anyway."""

    db_min: float
    db_max: float
    aided_ok: tuple[str, ...]


@dataclass(frozen=True)
class Speech:
    """Speech intelligibility range, percent."""

    intelligibility_min: float
    intelligibility_max: float


@dataclass(frozen=True)
class Physical:
    """Physical impairment grades that qualify for a regular class."""

    grades_ok: tuple[int, ...]


@dataclass(frozen=True)
class Intellectual:
    """DQ (age 0-6) and IQ (7+) ranges, and the adaptive-behaviour deficits that qualify."""

    dq_min: float
    dq_max: float
    iq_min: float
    iq_max: float
    adaptive_ok: tuple[str, ...]


@dataclass(frozen=True)
class Mental:
    """WHO-DAS II range and the adaptive-behaviour deficits that qualify."""

    whodas_min: float
    whodas_max: float
    adaptive_ok: tuple[str, ...]


@dataclass(frozen=True)
class Autism:
    """Professional indicators after a passed pre-screen, and how many are needed."""

    indicators_needed: int
    ppvt_iq_above: float
    cars_total_max: float
    cars_item_below: float
    pep_age_min_months: float


@dataclass(frozen=True)
class EligibilityStandard:
    """Per-category thresholds deciding between a regular class and a special school."""

    name: str
    vision: Vision
    hearing: Hearing
    speech: Speech
    physical: Physical
    intellectual: Intellectual
    mental: Mental
    autism: Autism
    source: str = field(default="standard.toml", compare=False)

    @classmethod
    def from_toml(cls, path: Path) -> EligibilityStandard:
        """Read a standard file; ScenarioError names every missing or wrong key."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ScenarioError([Problem(path.name, None, None, f"cannot read: {exc}")]) from None
        return cls.from_mapping(data, file=path.name)

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, file: str) -> EligibilityStandard:
        """Build from parsed TOML, checking every key of every section."""
        problems: list[Problem] = []
        sections: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in ("name", "source"):
                continue
            section_cls = {"vision": Vision, "hearing": Hearing, "speech": Speech,
                           "physical": Physical, "intellectual": Intellectual,
                           "mental": Mental, "autism": Autism}[f.name]
            table = data.get(f.name)
            if not isinstance(table, dict):
                problems.append(Problem(file, None, f.name, "section is missing"))
                continue
            kwargs: dict[str, Any] = {}
            names = {sf.name: sf for sf in dataclasses.fields(section_cls)}
            for key in table:
                if key not in names:
                    problems.append(Problem(file, None, f"{f.name}.{key}", "unknown key"))
            for key, sf in names.items():
                value = table.get(key)
                where = f"{f.name}.{key}"
                if value is None:
                    problems.append(Problem(file, None, where, "value is missing"))
                elif "tuple" in str(sf.type):
                    if not isinstance(value, list):
                        problems.append(Problem(file, None, where, "expected a list"))
                    else:
                        kwargs[key] = tuple(value)
                elif isinstance(value, bool) or not isinstance(value, int | float):
                    problems.append(Problem(file, None, where, f"expected a number, got "
                                                               f"{value!r}"))
                else:
                    kwargs[key] = value
            if len(kwargs) == len(names):
                sections[f.name] = section_cls(**kwargs)
        for key in data:
            if key != "name" and key not in sections and key not in {
                    f.name for f in dataclasses.fields(cls)}:
                problems.append(Problem(file, None, key, "unknown section"))
        if problems:
            raise ScenarioError(problems)
        return cls(name=str(data.get("name", file)), source=file, **sections)

    def to_toml(self) -> str:
        """The standard as TOML text that reads back equal (tomli-w quotes the name)."""
        data: dict[str, Any] = {"name": self.name}
        for f in dataclasses.fields(self):
            section = getattr(self, f.name)
            if dataclasses.is_dataclass(section):
                data[f.name] = {k: list(v) if isinstance(v, tuple) else v
                                for k, v in dataclasses.asdict(section).items()}
        return tomli_w.dumps(data)


@cache
def default_standard() -> EligibilityStandard:
    """The Tianjin reference standard shipped with lrcplan."""
    return EligibilityStandard.from_toml(DEFAULT_STANDARD)
