"""`embedsql model`: info | export | stamp.

    embedsql model info                   which model (family, name, dimension, digest), which runtime and why
    embedsql model export                 export the model for the ONNX fast path (once per model)
    embedsql model stamp [TABLE.COLUMN]   record the model in use on a vector column (default photos.photo_embed)
"""
from __future__ import annotations

ACTIONS = ("info", "export", "stamp")


def add_parser(sub, common):
    """Add `embedsql model` (info | export | stamp [TABLE.COLUMN] [--force]) to the subparsers
    `sub`."""
    p = sub.add_parser("model", parents=[common], help="the embedding model: info, export (fast path), stamp",
                       description="Which model embedsql uses, its fast path, and the model a vector column records.")
    msub = p.add_subparsers(dest="model_action", parser_class=type(p))
    msub.add_parser("info", parents=[common], help="the model's identity, the runtime and why")
    msub.add_parser("export", parents=[common],
                    help="export the model to ONNX for the fast path (needs torch once; queries then start without it)")
    q = msub.add_parser("stamp", parents=[common],
                        help="record the model in use on a vector column (an empty table: any model; "
                             "a filled one: --force, same dimension)")
    q.add_argument("column", nargs="?", default="photos.photo_embed", metavar="TABLE.COLUMN",
                   help="the vector column (default photos.photo_embed)")
    q.add_argument("--force", action="store_true",
                   help="re-stamp a table that has rows (only when the model in use is a copy of the recorded one)")
    return p


def run(args, ctx) -> int:
    """`embedsql model ACTION`: info prints the model's identity and runtime, export writes the ONNX
    fast path, stamp records the model on a vector column. Returns the exit code; raises
    UsageFailure when no action is chosen."""
    from ..errors import UsageFailure

    action = getattr(args, "model_action", None)
    if action is None:
        raise UsageFailure("embedsql model: choose one of " + ", ".join(ACTIONS) + " (e.g. `embedsql model info`)")
    return {"info": _info, "export": _export, "stamp": _stamp}[action](args, ctx)


def _info(args, ctx) -> int:
    """`model info`: what is known of the configured model, on stdout; ModelLoadError (exit 2,
    with its hint) after it when the model cannot be used."""
    from embed.errors import ModelLoadError
    from embed.onnx_runtime import export_status

    emb = ctx.session().embedder
    rt = emb.runtime
    out = ctx.out
    out.print(f"model:    {rt.model_ref}", markup=False, highlight=False)
    failed = None
    try:
        ident = emb.identity
        out.print(f"identity: {ident.describe()}", markup=False, highlight=False)
        out.print(f"stamp:    {ident.tag()}", markup=False, highlight=False)
    except ModelLoadError as exc:
        out.print(f"identity: unknown ({exc.message})", markup=False, highlight=False)
        failed = exc
    out.print(f"files:    {rt.ref.directory or 'not on this machine'}", markup=False, highlight=False)
    out.print(f"runtime:  {rt.choice_reason or rt.kind}", markup=False, highlight=False)
    reason = export_status(rt.ref)
    out.print(f"fast path: {'ready' if reason is None else reason}", markup=False, highlight=False)
    if failed is not None:  # what it knows is printed; the model itself cannot be used: say so, exit 2
        raise failed
    return 0


def _export(args, ctx) -> int:
    from embed.onnx_runtime import OnnxRuntime, export_status

    emb = ctx.session().embedder
    reason = export_status(emb.runtime.ref)
    if reason is None:
        ctx.err.print("the fast path is ready: the model is already exported", highlight=False)
        return 0
    rt = OnnxRuntime(emb.runtime.ref)
    ctx.err.print(f"exporting {emb.runtime.model_ref} for the fast path (torch loads once) ...", highlight=False)
    rt.prepare()
    ctx.err.print(f"done: {rt.export_dir}", markup=False, highlight=False)
    return 0


def _stamp(args, ctx) -> int:
    from migrations.stamp import stamp
    from ..errors import UsageFailure
    from ..interrupts import ctrl_c_for

    from .migrate import _printer, model_identity

    table, dot, column = args.column.rpartition(".")
    if not dot or not table or not column:
        raise UsageFailure(f"embedsql model stamp: {args.column!r} is not TABLE.COLUMN (e.g. photos.photo_embed)")
    ref, ident = model_identity(ctx)
    s = ctx.session()
    # Ctrl-C as in `embedsql query` (a wait for the embedded database ends at once)
    with ctrl_c_for(s):
        stamp(s, ident, table=table, column=column, force=args.force, on_event=_printer(ctx))
    return 0


def prepare_fast_path(ctx, session) -> None:
    """After an ingest (the model is loaded on torch anyway): export it for the ONNX fast path, so
    the next query in a new process starts without torch. Best effort: a failure is a warning."""
    from ..errors import error_text

    try:
        made = session.embedder.prepare_fast_path()
    except Exception as exc:  # noqa: BLE001 - the rows are stored: anything here (an unwritable cache, ...) is a warning
        ctx.warn(f"the fast path for queries could not be prepared: {error_text(exc)}")
        return
    if made:
        ctx.err.print(f"[dim]exported the model for the fast path: {made}[/dim]", highlight=False)


__all__ = ["add_parser", "run", "prepare_fast_path"]
