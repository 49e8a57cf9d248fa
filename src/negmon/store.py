"""Where incidents live: :class:`IncidentStore` (the interface the tracker needs) and :class:`SQLiteStore`.

One SQLite file in WAL mode, its schema versioned (``PRAGMA user_version``) and brought up to date by the
migrations below when opened. A batch of posts is written in one ``BEGIN IMMEDIATE`` transaction: a process
killed at any moment leaves either the whole batch or none of it, and several processes may add to one file
(each waits for the others' transactions, up to ``timeout`` seconds). A server database can implement the same
interface later.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from negmon.errors import InputError

__all__ = ["IncidentStore", "SQLiteStore"]

# each entry brings the schema from version i to i + 1; never edit one that has shipped, add a new one
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE posts (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        place TEXT NOT NULL,
        family TEXT NOT NULL,
        incident TEXT NOT NULL,
        topic TEXT,
        priority TEXT,
        features TEXT NOT NULL,
        added_at REAL NOT NULL
    );
    CREATE INDEX posts_place ON posts (place, created_at);
    CREATE INDEX posts_incident ON posts (incident);
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        topic TEXT,
        family TEXT NOT NULL,
        place TEXT NOT NULL,
        locality TEXT,
        region TEXT,
        address TEXT,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        post_count INTEGER NOT NULL,
        max_priority TEXT,
        representative TEXT,
        status TEXT NOT NULL DEFAULT 'open',
        merged_into TEXT,
        bodies TEXT,
        deadline REAL,
        updated_at REAL NOT NULL,
        answered_at REAL,
        closed_at REAL
    );
    CREATE INDEX incidents_status ON incidents (status, deadline);
    CREATE TABLE merges (
        survivor TEXT NOT NULL,
        absorbed TEXT NOT NULL,
        post TEXT NOT NULL,
        at REAL NOT NULL
    );
    """,
)
INCIDENT_FIELDS = ("id", "topic", "family", "place", "locality", "region", "address", "first_seen", "last_seen",
                   "post_count", "max_priority", "representative", "status", "merged_into", "bodies", "deadline",
                   "updated_at", "answered_at", "closed_at")


class IncidentStore(Protocol):
    """What :class:`~negmon.incidents.IncidentTracker` needs from a store."""

    def transaction(self) -> Any:
        """A context manager: everything inside is written at once or not at all."""

    def known(self, ids: Sequence[str]) -> set[str]:
        """The post ids among ``ids`` already stored."""

    def neighbours(self, place: str, start: float, end: float) -> list[dict[str, Any]]:
        """Stored posts of ``place`` created in [start, end], with their incident."""

    def add_post(self, row: dict[str, Any]) -> None:
        """Store one post (its ``incident`` set)."""

    def move_posts(self, old: str, new: str) -> None:
        """Point every post of incident ``old`` at ``new``."""

    def incident_of(self, post_id: str) -> str | None:
        """The incident a stored post belongs to."""

    def posts_of(self, incident: str) -> list[dict[str, Any]]:
        """The posts of one incident."""

    def put_incident(self, row: dict[str, Any]) -> None:
        """Insert or replace one incident."""

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        """One incident by id, or None."""

    def incidents(self, **filters: Any) -> list[dict[str, Any]]:
        """Incidents matching ``status``, ``region``, ``topic`` filters, newest first."""

    def record_merge(self, survivor: str, absorbed: str, post: str, at: float) -> None:
        """Remember that ``post`` joined ``absorbed`` into ``survivor``."""


class SQLiteStore:
    """An :class:`IncidentStore` in one SQLite file (created with its folder if missing)."""

    def __init__(self, path: str | Path, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(f"--db must be a file, got the folder {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.timeout = timeout
        self._migrate()

    # ------------------------------------------------------------ connection and schema

    @property
    def db(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect()
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA foreign_keys=ON")
            con.row_factory = sqlite3.Row
            self._local.con = con
        return con

    def _connect(self) -> sqlite3.Connection:
        # switching a new file to WAL needs a lock that SQLite does not wait for (it answers "database is
        # locked" at once while another process creates the file), so that step is retried up to the timeout
        deadline = time.monotonic() + self.timeout
        while True:
            con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            try:
                con.execute("PRAGMA journal_mode=WAL")
                return con
            except sqlite3.DatabaseError as e:
                con.close()
                busy = isinstance(e, sqlite3.OperationalError) and ("locked" in str(e) or "busy" in str(e))
                if not busy or time.monotonic() > deadline:
                    raise InputError(f"{self.path} is not a negmon incident database (SQLite said: {e})") from None
                time.sleep(0.05)

    def _migrate(self) -> None:
        with self.transaction():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise InputError(f"{self.path} has schema version {version}; this negmon knows up to "
                                 f"{len(MIGRATIONS)}: upgrade negmon")
            for i in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[i].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {i + 1}")

    @property
    def version(self) -> int:
        """The schema version of the file."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception); nests as one transaction."""
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._local.depth = 0

    def close(self) -> None:
        """Close this thread's connection."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # ------------------------------------------------------------ posts

    def known(self, ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = list(ids[i : i + 500])
            q = f"SELECT id FROM posts WHERE id IN ({','.join('?' * len(chunk))})"
            out.update(r[0] for r in self.db.execute(q, chunk))
        return out

    def neighbours(self, place: str, start: float, end: float) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, created_at, incident, features FROM posts WHERE place = ? AND created_at BETWEEN ? AND ?",
            (place, start, end))
        return [{"id": r["id"], "created_at": r["created_at"], "incident": r["incident"],
                 **json.loads(r["features"])} for r in rows]

    def add_post(self, row: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO posts (id, created_at, place, family, incident, topic, priority, features, "
            "added_at) VALUES (:id, :created_at, :place, :family, :incident, :topic, :priority, :features, "
            ":added_at)", {**row, "features": json.dumps(row["features"], ensure_ascii=False)})

    def move_posts(self, old: str, new: str) -> None:
        self.db.execute("UPDATE posts SET incident = ? WHERE incident = ?", (new, old))

    def incident_of(self, post_id: str) -> str | None:
        row = self.db.execute("SELECT incident FROM posts WHERE id = ?", (post_id,)).fetchone()
        return None if row is None else str(row[0])

    def posts_of(self, incident: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, created_at, topic, priority, features FROM posts WHERE incident = ? ORDER BY created_at, id",
            (incident,))
        return [{"id": r["id"], "created_at": r["created_at"], "topic": r["topic"], "priority": r["priority"],
                 **json.loads(r["features"])} for r in rows]

    # ------------------------------------------------------------ incidents

    def put_incident(self, row: dict[str, Any]) -> None:
        values = {k: row.get(k) for k in INCIDENT_FIELDS}
        values["bodies"] = json.dumps(values["bodies"] or [], ensure_ascii=False)
        self.db.execute(
            f"INSERT OR REPLACE INTO incidents ({', '.join(INCIDENT_FIELDS)}) "
            f"VALUES ({', '.join(':' + k for k in INCIDENT_FIELDS)})", values)

    def _row(self, r: sqlite3.Row) -> dict[str, Any]:
        d = dict(r)
        d["bodies"] = json.loads(d["bodies"] or "[]")
        return d

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        r = self.db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return None if r is None else self._row(r)

    def incidents(self, **filters: Any) -> list[dict[str, Any]]:
        where, args = [], []
        for key in ("status", "region", "topic", "place"):
            value = filters.get(key)
            if value is None:
                continue
            values = [value] if isinstance(value, str) else list(value)
            where.append(f"{key} IN ({','.join('?' * len(values))})")
            args.extend(values)
        q = "SELECT * FROM incidents" + (" WHERE " + " AND ".join(where) if where else "")
        return [self._row(r) for r in self.db.execute(q + " ORDER BY last_seen DESC, id", args)]

    def record_merge(self, survivor: str, absorbed: str, post: str, at: float) -> None:
        self.db.execute("INSERT INTO merges (survivor, absorbed, post, at) VALUES (?, ?, ?, ?)",
                        (survivor, absorbed, post, at))

    def merges(self) -> list[dict[str, Any]]:
        """Every recorded merge, oldest first."""
        return [dict(r) for r in self.db.execute("SELECT * FROM merges ORDER BY rowid")]

    def check(self) -> list[str]:
        """Integrity problems (empty when sound): SQLite's own check, posts pointing at no live incident,
        incidents whose post count disagrees with their posts."""
        problems = [r[0] for r in self.db.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"post {r[0]} in missing or merged incident {r[1]}" for r in self.db.execute(
            "SELECT p.id, p.incident FROM posts p LEFT JOIN incidents i ON i.id = p.incident "
            "WHERE i.id IS NULL OR i.status = 'merged'")]
        problems += [f"incident {r[0]} counts {r[1]} posts, has {r[2]}" for r in self.db.execute(
            "SELECT i.id, i.post_count, COUNT(p.id) FROM incidents i LEFT JOIN posts p ON p.incident = i.id "
            "WHERE i.status != 'merged' GROUP BY i.id HAVING i.post_count != COUNT(p.id)")]
        return problems
