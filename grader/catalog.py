"""Read grader/catalog.toml into typed records; check it for the mistakes an instructor can make."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .paths import project_root

CATALOG_FILE = Path(__file__).with_name("catalog.toml")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


class CatalogError(ValueError):
    """The catalog is malformed; the message names the exercise and the field."""


@dataclass(frozen=True)
class TestSet:
    """One test file of an exercise and how many points it is worth."""

    file: str
    kind: str  # "public" | "hidden" | "optional"
    points: float | None = None
    points_per_test: float | None = None

    @property
    def path(self) -> Path:
        return project_root() / self.file

    def exists(self) -> bool:
        return self.path.is_file()


@dataclass(frozen=True)
class Exercise:
    id: str
    order: int
    title: str
    module: str
    handout: str
    timeout: float
    requires: tuple[str, ...] = ()
    public: TestSet | None = None
    hidden: TestSet | None = None
    optional: TestSet | None = None  # an optional part: public tests whose points come on top

    def test_sets(self, include_hidden: bool = True) -> list[TestSet]:
        """The test files to run: public, the optional part's (public too), and hidden when asked."""
        sets = [self.public] if self.public else []
        if self.optional and self.optional.exists():
            sets.append(self.optional)
        if include_hidden and self.hidden and self.hidden.exists():
            sets.append(self.hidden)
        return [s for s in sets if s is not None]

    @property
    def points(self) -> float:
        """The exercise's points: public + hidden (catalog `points`; a points_per_test set counts 0 here)."""
        return sum(float(s.points or 0) for s in (self.public, self.hidden) if s is not None)

    @property
    def optional_points(self) -> float:
        """The optional part's points, on top of `points` (0 when there is none)."""
        return float(self.optional.points or 0) if self.optional is not None else 0.0


@dataclass(frozen=True)
class Catalog:
    title: str
    exercises: tuple[Exercise, ...]
    hidden_visibility: str = "after_due_date"
    test_timeout: float = 60.0
    load_timeout: float = 30.0  # seconds an exercise's worker may take to start and import the module
    memory_limit_mb: int = 6144
    cpu_limit_factor: float = 3.0
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, exercise_id: str) -> Exercise:
        key = _normalize(exercise_id)
        for ex in self.exercises:
            if ex.id == key:
                return ex
        known = ", ".join(e.id for e in self.exercises)
        named = re.search(r"ex(\d\d)", exercise_id.lower())
        if named and any(e.id == f"ex{named.group(1)}" for e in self.exercises):
            raise CatalogError(f"{exercise_id!r} is not an exercise id: did you mean ex{named.group(1)}? "
                               f"(mtdg takes ids, e.g. `mtdg grade ex{named.group(1)}`)")
        raise CatalogError(f"there is no exercise {exercise_id!r}; the catalog has {known}")

    def select(self, ids: list[str] | None) -> list[Exercise]:
        """The named exercises in graded order (all when `ids` is empty); accepts ranges like ex01-ex03."""
        if not ids:
            return list(self.exercises)
        chosen: set[str] = set()
        for item in ids:
            for part in item.split(","):
                if "-" in part:
                    lo, hi = (self.get(p).id for p in part.split("-", 1))
                    chosen |= {e.id for e in self.exercises if lo <= e.id <= hi}
                elif part:
                    chosen.add(self.get(part).id)
        return [e for e in self.exercises if e.id in chosen]


def _normalize(text: str) -> str:
    text = text.strip().lower()
    digits = text[2:4] if text.startswith("ex") else text
    digits = "".join(ch for ch in digits if ch.isdigit())
    return f"ex{int(digits):02d}" if digits else text


def _test_set(raw: Any, kind: str, ex_id: str) -> TestSet | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or "file" not in raw:
        raise CatalogError(f"{ex_id}.{kind} must be a table with a `file` (and `points` or `points_per_test`)")
    points, per_test = raw.get("points"), raw.get("points_per_test")
    if (points is None) == (per_test is None):
        raise CatalogError(f"{ex_id}.{kind}: give exactly one of `points` and `points_per_test`")
    return TestSet(raw["file"], kind, points, per_test)


def load(path: Path = CATALOG_FILE) -> Catalog:
    """Parse and validate the catalog."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CatalogError(f"cannot read {path}: {error}") from None
    course = data.get("course", {})
    exercises = []
    for raw in data.get("exercise", []):
        ex_id = raw.get("id", "?")
        missing = [k for k in ("id", "order", "title", "module", "handout", "timeout") if k not in raw]
        if missing:
            raise CatalogError(f"exercise {ex_id} lacks {', '.join(missing)}")
        exercises.append(
            Exercise(
                id=raw["id"],
                order=int(raw["order"]),
                title=raw["title"],
                module=raw["module"],
                handout=raw["handout"],
                timeout=float(raw["timeout"]),
                requires=tuple(raw.get("requires", ())),
                public=_test_set(raw.get("public"), "public", ex_id),
                hidden=_test_set(raw.get("hidden"), "hidden", ex_id),
                optional=_test_set(raw.get("optional"), "optional", ex_id),
            )
        )
    exercises.sort(key=lambda e: e.order)
    ids = [e.id for e in exercises]
    if len(set(ids)) != len(ids):
        raise CatalogError(f"exercise ids repeat: {ids}")
    for ex in exercises:
        for req in ex.requires:
            if req not in ids or ids.index(req) >= ids.index(ex.id):
                raise CatalogError(f"{ex.id} requires {req}, which must be an earlier exercise")
    visibility = course.get("hidden_visibility", "after_due_date")
    if visibility not in VISIBILITIES:
        raise CatalogError(f"course.hidden_visibility must be one of {VISIBILITIES}, not {visibility!r}")
    return Catalog(
        title=course.get("title", "minitorch-dg"),
        exercises=tuple(exercises),
        hidden_visibility=visibility,
        test_timeout=float(course.get("test_timeout", 60)),
        load_timeout=float(course.get("load_timeout", 30)),
        memory_limit_mb=int(course.get("memory_limit_mb", 6144)),
        cpu_limit_factor=float(course.get("cpu_limit_factor", 3)),
        extra={k: v for k, v in course.items()},
    )
