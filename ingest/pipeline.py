"""The image pipeline: skip what is present -> bounded concurrent fetch + decode -> batched
embedding -> batched insert, the stages overlapping.

    producer thread ── submits fetch+decode jobs to a thread pool, at most `window` in flight
    pool threads    ── fetch (timeout, size cap, redirects), decode (sniffing, bomb guard, draft)
    main thread     ── takes decoded images, embeds a batch at a time (the model never waits on
                       the network while decoded images are queued)
    writer thread   ── inserts each embedded batch as one INSERT (up to 2 batches queued)

Exactness: ids are stable hashes of the input's key; the ids in the table are read first and
present inputs are skipped without fetching them; each batch goes in as one INSERT after
re-checking its ids under the same engine hold. A run killed at any point leaves whole batches,
and a rerun adds exactly the missing rows.
"""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from embed.errors import InputError

from .progress import NoProgress, Progress
from .report import FailureLog, IngestReport
from .sources import Item, image_meta
from .target import Target

_DONE = object()


@dataclass
class IngestOptions:
    """How to ingest: `table` (None: the built-in `photos`), `column_map` (logical name -> table
    column; '' drops it), `workers` (concurrent downloads and decodes), `batch_size` (images per
    model batch and per INSERT), `timeout` (seconds per image download), `max_bytes` (largest
    image accepted, bytes; default 20 MiB), `report_path` (TSV file of failures; None keeps them
    in the report only), `progress` (a `Progress`; None shows none), `check_model` (refuse a
    vector column whose comment names another model), `release_engine` (embedded engine: let
    other processes in between batches), `stop` (a threading.Event; once set, e.g. by Ctrl-C, the
    run winds down: the images already fetched and decoded are embedded and written, the batches
    already embedded are written, downloads under way are dropped, and the report is returned
    with `interrupted` set), `migrate_up` (the command a missing-table hint suggests: the command
    line passes one that repeats its connection options, so following the hint literally works).

    The model is checked against the vector column's model record before anything else, also
    when every input is already in the table (`check_model`)."""

    table: str | None = None  # default: the built-in `photos`
    column_map: dict | list | None = None  # logical -> table column ("" drops it)
    workers: int = 16  # concurrent downloads / decodes
    batch_size: int = 32  # images per model batch and per INSERT
    timeout: float = 10.0  # per image download
    max_bytes: int = 20 * 1024 * 1024
    report_path: str | Path | None = None  # failure report (TSV); None: keep them in the report only
    progress: Progress | None = None
    check_model: bool = True  # refuse a vector column tagged with another model
    release_engine: bool = True  # embedded engine: let other processes in between batches
    stop: threading.Event | None = None  # set: finish what is fetched, write it, stop (Ctrl-C)
    migrate_up: str | None = None  # the missing-table hint's command (None: `embedsql migrate up`)


def _fetch_options(opts: IngestOptions):
    from embed.fetch import FetchOptions

    return FetchOptions(timeout=opts.timeout, max_bytes=opts.max_bytes)


def run_items(session, items: Iterable[Item], opts: IngestOptions | None = None, *,
              description: str = "ingest", read_meta: bool = False, source: str | None = None) -> IngestReport:
    """Ingest image items into the target table. Returns the report (also on Ctrl-C, with
    `interrupted` set); raises on database or model errors."""
    opts = opts or IngestOptions()
    t0 = time.monotonic()
    report = IngestReport()
    log = FailureLog(report, opts.report_path)
    progress = opts.progress or NoProgress()
    target = Target.open(session, opts.table, opts.column_map, release_engine=opts.release_engine,
                         migrate_up=opts.migrate_up)
    if opts.check_model:  # before anything: also when every input is already there
        _check_model(session.embedder, target)
    present = set(target.existing_ids().tolist())

    pending: list[Item] = []
    seen: set[int] = set()
    items = list(items)
    report.inputs = len(items)
    for it in items:
        err = it.meta.get("_error")
        skip = it.meta.get("_skip")
        if skip:
            log.add(it.label, skip, skipped=True)
        elif err:
            log.add(it.label, err)
        elif it.id in present:
            report.skipped_existing += 1
        elif it.id in seen:  # (it was counted as already present, even into an empty table)
            log.add(it.label, f"repeats the key {it.key!r} of an earlier input: ingested once", repeated=True)
        else:
            seen.add(it.id)
            if source:
                it.meta.setdefault("source", source)
            pending.append(it)
    del present, seen

    lock = threading.Lock()

    def show():
        with lock:
            progress.update(report.ingested + report.failed + report.skipped + report.skipped_existing + report.repeated,
                            report.ingested, report.failed, report.skipped_existing)

    progress.start(report.inputs, description)
    show()
    try:
        if pending:
            _run(session, target, pending, opts, report, log, show, read_meta)
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        log.close()
        report.seconds = time.monotonic() - t0
        show()
        progress.finish()
    return report


def _check_model(embedder, target: Target) -> None:
    """Raise ModelMismatch when the vector column records another model than `embedder`'s (nothing
    recorded: no check). The model's files are read, its weights not loaded, except for a hub id
    not in the local cache yet, whose identity is known once it is loaded (downloaded), as before
    this check came first. ModelLoadError when it cannot be loaded."""
    from embed.errors import ModelLoadError
    from sqlext.db.model_check import check_column_model

    recorded = target.column_model_record()
    if recorded.get("model"):
        try:
            identity = embedder.identity
        except ModelLoadError:
            embedder.load()
            identity = embedder.identity
        check_column_model(target.table, target.vector_col, recorded, identity, target.count_rows,
                           model_ref=embedder.runtime.model_ref, using="embedsql is ingesting with")


def _run(session, target: Target, pending: list[Item], opts: IngestOptions, report: IngestReport,
         log: FailureLog, show, read_meta: bool) -> None:
    from embed.fetch import decode_image, fetch_bytes

    embedder = session.embedder
    embedder.load()  # before any download: a model that cannot load stops the run here
    dim = embedder.dim
    target.check_dim(dim, f"model {embedder.model_id}")

    fopts = _fetch_options(opts)
    batch_size = max(1, int(opts.batch_size))
    window = max(2 * max(1, opts.workers), 2 * batch_size)
    slots = threading.Semaphore(window)
    results: queue.Queue = queue.Queue()
    stop = threading.Event()

    def load(it: Item):
        try:
            data = fetch_bytes(it.ref, fopts)
            img = decode_image(data, it.ref, fopts)
            meta = image_meta(data) if read_meta else None
            return it, img, meta, None
        except InputError as e:
            return it, None, None, e.reason
        except Exception as e:  # noqa: BLE001 - one bad input never stops the run
            return it, None, None, f"unexpected error ({type(e).__name__}: {e})"

    pool = ThreadPoolExecutor(max_workers=max(1, opts.workers), thread_name_prefix="ingest-fetch")

    def produce():
        try:
            for it in pending:
                while not slots.acquire(timeout=0.2):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                try:
                    future = pool.submit(load, it)
                except RuntimeError:  # the pool was shut down meanwhile (the run stopped)
                    return
                # (a download cancelled when the run stopped has no result)
                future.add_done_callback(lambda f: f.cancelled() or results.put(f.result()))
        finally:
            pool.shutdown(wait=not stop.is_set(), cancel_futures=stop.is_set())
            results.put(_DONE)

    writes: queue.Queue = queue.Queue(maxsize=2)
    writer_error: list[BaseException] = []

    def write():
        while True:
            job = writes.get()
            if job is _DONE:
                return
            rows, vecs = job
            if writer_error:
                continue
            try:
                n = target.insert_rows(rows, vecs)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                writer_error.append(e)
                stop.set()
                continue
            report.ingested += n
            report.skipped_existing += len(rows) - n
            show()

    producer = threading.Thread(target=produce, name="ingest-produce", daemon=True)
    writer = threading.Thread(target=write, name="ingest-write", daemon=True)
    producer.start()
    writer.start()

    batch: list[tuple[Item, object, dict | None]] = []

    def flush():
        if not batch:
            return
        items = [b[0] for b in batch]
        imgs = [b[1] for b in batch]
        try:
            vecs = embedder.embed_images(imgs, batch_size=batch_size)
            ok = list(range(len(items)))
        except Exception:  # noqa: BLE001 - find the image the model cannot take
            ok, parts = [], []
            for i, im in enumerate(imgs):
                try:
                    parts.append(embedder.embed_images([im])[0])
                    ok.append(i)
                except Exception as e:  # noqa: BLE001
                    log.add(items[i].label, f"cannot embed ({type(e).__name__}: {e})")
            vecs = parts
        rows = []
        for j, i in enumerate(ok):
            row = items[i].row()
            meta = batch[i][2]
            if meta:
                for k, v in meta.items():
                    row.setdefault(k, v)
            rows.append(row)
        batch.clear()
        if rows:
            while True:  # wait for room, but notice a failed writer
                try:
                    writes.put((rows, vecs), timeout=0.2)
                    break
                except queue.Full:
                    if writer_error:
                        break
        show()

    def take(got) -> bool:
        """One fetch result into the batch (or the failure log); False for the end marker."""
        if got is _DONE:
            return False
        slots.release()
        it, img, meta, err = got
        if err is not None:
            log.add(it.label, err)
            show()
        else:
            batch.append((it, img, meta))
        return True

    halt = opts.stop
    try:
        finished = False
        while not finished and not writer_error:
            if halt is not None and halt.is_set():
                # stop: what is fetched and decoded is embedded and written (one last batch);
                # downloads under way are dropped (a rerun fetches them)
                while not finished:
                    try:
                        finished = not take(results.get_nowait())
                    except queue.Empty:
                        break
                report.interrupted = not finished
                if batch:
                    flush()
                break
            try:
                got = results.get(timeout=0.2)
            except queue.Empty:
                continue
            finished = not take(got)
            if len(batch) >= batch_size or (finished and batch):
                flush()
    finally:
        if not finished:
            stop.set()
        writes.put(_DONE)
        writer.join()
        if not finished:
            # stopped by `opts.stop`: wait for the downloads under way (each ends within the
            # timeout; their images are dropped), so none outlives the run; after an error, don't
            pool.shutdown(wait=report.interrupted, cancel_futures=True)
    if writer_error:
        raise writer_error[0]
