"""Migrations: versioned schema files, and a runner that applies them to MyScale or ClickHouse
(the embedded database included) with a state table, a lock, checksums and index-build waits.

## Files
One file per migration, named `<version>_<name>.sql` (`0001_photos_table.sql`). Comment lines
`-- +up` and `-- +down` split it into the statements that apply it and those that revert it
(`-- +down` is optional; without it the migration cannot be reverted). Each part may hold several
`;`-separated statements. Write them once, in MyScale syntax (or plain ClickHouse SQL): embedsql
translates them for the target (`ADD VECTOR INDEX ... TYPE MSTG('metric_type=Cosine')` becomes a
`vector_similarity('hnsw', 'cosineDistance', 512)` index plus `MATERIALIZE INDEX` on ClickHouse).

    -- 0100 add tags
    -- +up
    ALTER TABLE photos ADD COLUMN tags Array(String);
    -- +down
    ALTER TABLE photos DROP COLUMN tags;

The built-in set (versions 0001-0099) creates the photo-search schema: `photos` (id, the
Unsplash Lite metadata people filter on, and `photo_embed Array(Float32)` with
`CHECK length(photo_embed) = <dim>` and the column comment
`embedsql:model=<name>;family=<family>;dim=<dim>;digest=<hex>`, which makes EMBED() and
ingestion refuse another model's vectors), then its cosine vector index. The dimension and the
comment come from the configured model at `migrate up` (files.load_builtin; `migrate plan`
shows them); `migrate up` refuses when the table exists for another model (model.check_table),
and `embedsql model stamp` re-stamps an empty table (stamp.stamp). Your own files (`--dir DIR`) are added to it;
`embedsql migrate new NAME --dir DIR` numbers them from 0100. `--no-builtin` leaves the built-in
set out.

## Commands
    embedsql migrate status                 state of every migration (exit 1 if one needs attention)
    embedsql migrate up [--to V]            apply pending ones in version order; resumes a failed one
    embedsql migrate down [--to V]          revert the latest applied migration; --to V reverts all
                                            above V (--to 0: everything)
    embedsql migrate plan [--dialect D]     the exact SQL, per statement, nothing run; without
                                            --dialect exactly what `up` (--down: `down`) would run
                                            with the same options (a failed migration from the
                                            statement `up` resumes at; --to as they take it); with
                                            --dialect no database is consulted (up: all, from empty;
                                            down: as if all were applied)
    embedsql migrate new NAME --dir DIR     next-numbered file from a template
Options: `--dir DIR` (repeatable), `--no-builtin`, `--cluster NAME`, `--lock-timeout S` (30),
`--lock-ttl S` (60), `--index-timeout S` (600), `--no-wait`, `--allow-changed`, and the
connection options.

## Guarantees
- State lives in the target database, table `embedsql_migrations` (version, name, checksum,
  status, statements_done, error, applied_at, duration_ms, ...). ClickHouse has no transactions:
  every change is a new row and the newest row of a version wins.
- Not transactional, never silently half-applied: progress is recorded after every statement.
  A failure at statement k is recorded (`failed`, statements_done = k-1, the error); `status`
  shows it; fix the cause (editing statements k and later is allowed) and `up` resumes at
  statement k. A killed run shows as `interrupted` and resumes the same way.
  `down` of a failed or interrupted migration runs its whole down part, ignoring errors (write
  down parts with IF EXISTS); `down` of an applied one stops at the first error (`revert_failed`)
  and the next `down` resumes there; `up` refuses while a revert is half done.
- Checksums: editing an applied file shows as `changed` in `status`, and `up`/`down` refuse
  until `--allow-changed`. A built-in file is not `changed` when only the model differs: when the
  table records another model and the file filled in for it has the recorded checksum, `status`
  shows it applied with a note naming both models (Runner._for_recorded_model), and `down` runs
  the file as filled in for the recorded model.
- Lock: one run at a time per database, through `embedsql_migration_lock` in the database
  itself (works across machines). A second run waits up to `--lock-timeout` seconds, then exits
  naming the holder (pid, host, command). The holder renews its lock between statements; a killed
  run's lock expires after 60 s (at once when the next run is on the same machine and sees its
  process gone). On the embedded database the run also holds the engine for its whole duration.
- Index builds: after a migration that adds a vector index, `up` waits until it is built
  (MyScale: `system.vector_indices` status; ClickHouse: the MATERIALIZE INDEX mutation), printing
  progress, up to `--index-timeout`; a failed build is reported with its reason (exit 1).
- Clusters: `--cluster NAME` renders DDL with ON CLUSTER; each table a migration creates becomes
  `T_local` (Replicated*MergeTree at '/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
  plus a Distributed table `T` over it (sharded by cityHash64 of the first ORDER BY column);
  the state and lock tables are one replicated copy shared by all shards. `plan --cluster` shows it.
"""
from .files import BUILTIN_DIR, Migration, MigrationFileError, Step, load, load_dir, new_file, parse  # noqa: F401
from .runner import IndexBuildError, MigrationError, Runner, Status, plan  # noqa: F401
from .state import LockLost, LockTimeout, MigrationLock  # noqa: F401
