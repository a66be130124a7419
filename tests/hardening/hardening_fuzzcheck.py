"""The oracle for the SQL fuzzer: run one generated statement through the client pipeline
(find EMBED calls -> splice vectors -> translate for each dialect -> lint), and return what
went wrong.

Properties (see RESULTS.md):
P1 no crash: only sqlext.errors.EmbedSQLError subclasses may escape, and only where allowed
   (junk tokens, or a statement built to be invalid); a clean statement must not raise.
P2 rewrite fidelity: the calls found are exactly the EMBED calls the generator wrote (same text,
   same parsed terms), never one inside a string, comment or quoted identifier; their spans
   re-spliced with their own text give the input; the spliced output equals the generator's own
   rendering with vector literals in place of the calls (nothing else changed), and every vector
   literal reads back as the float32 vector that was spliced.
P3 bridge identity: a statement with no construct of the source dialect comes back as [input],
   byte for byte, changed=False.
P4 bridge locality: for a translated statement, every non-construct segment appears in the first
   output statement in order, anchored at both ends, once the documented SETTINGS item added for
   distance('ef_s=N') is taken out; the constructs themselves are the only text that changed.
P5 bridge idempotence: translating a MyScale->ClickHouse output again changes nothing.
P6 lint never raises.
P7 wire form: the statement spliced with `cast_vector` forms (how the session sends EMBED vectors
   to ClickHouse) translates for ClickHouse exactly as with the literals, each still wrapped.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from sqlext.errors import EmbedSQLError
from sqlext.text.ddl import IndexInfo, StaticCatalog
from sqlext.text.dialects import lint, translate
from sqlext.text.rewrite import cast_vector, find_embeds, format_vector, splice, splice_text

from tests.hardening.hardening_sqlgen import Case, generate

EF_SETTING = "hnsw_candidate_list_size_for_search"

CATALOGS = {
    # the MyScale side: an MSTG cosine index on photos.v
    "clickhouse": StaticCatalog(indexes={("photos", "v"): IndexInfo("vi", "MSTG", "Cosine", 512)},
                                dims={("photos", "v"): 512, ("db1.items", "v"): 512}),
    # the ClickHouse side: a vector_similarity (HNSW) cosine index on photos.v
    "myscale": StaticCatalog(indexes={("photos", "v"): IndexInfo("vi", "HNSW", "Cosine", 512)},
                             dims={("photos", "v"): 512}),
}
FREE = {"clickhouse": "ms", "myscale": "ch"}


def _vector_for(query) -> np.ndarray:
    """A deterministic small unit vector per distinct query (the oracle's stand-in for CLIP)."""
    h = abs(hash(query)) % (2**32)
    v = np.random.default_rng(h).standard_normal(4).astype(np.float32)
    return v / np.linalg.norm(v)


def _read_vector(text: str) -> np.ndarray:
    assert text[0] == "[" and text[-1] == "]", text
    return np.array([float(x) for x in text[1:-1].split(",")], dtype=np.float32)


def _locality(out: str, segs: list[tuple[str, str]], free: str) -> str | None:
    """Each non-free segment must appear in order; free segments may be replaced by anything."""
    pos, gap = 0, False
    for kind, text in segs:
        if kind != free and not text:
            continue
        if kind == free:
            gap = True
            continue
        if gap:
            idx = out.find(text, pos)
            if idx < 0:
                return f"segment {text!r} not found after offset {pos}"
            pos, gap = idx + len(text), False
        else:
            if not out.startswith(text, pos):
                return f"segment {text!r} expected at offset {pos}, found {out[pos:pos + len(text) + 20]!r}"
            pos += len(text)
    if not gap and pos != len(out):
        return f"unexpected trailing text {out[pos:pos + 80]!r}"
    return None


def _without_ef_setting(out: str, n: str) -> str:
    for form in (f" {EF_SETTING} = {n},", f"SETTINGS {EF_SETTING} = {n} ", f" SETTINGS {EF_SETTING} = {n}"):
        if form in out:
            return out.replace(form, "", 1)
    return out


def check_case(case: Case) -> tuple[list[str], dict]:
    """Return (failures, counters) for one generated statement."""
    fails: list[str] = []
    counts: dict = {}
    sql = case.render()

    # ---------------------------------------------------------------- rewrite
    sent = sql
    seg_texts = case.segment_texts()
    vecs: list = []  # the vectors spliced, one per call
    try:
        calls = find_embeds(sql)
    except EmbedSQLError:
        counts["rewrite_error"] = 1
        if not case.junk and case.expect_error != "rewrite":
            fails.append("P1 rewrite raised on a clean statement")
        calls = None
    except Exception as e:  # noqa: BLE001
        fails.append(f"P1 rewrite crashed: {type(e).__name__}: {e}")
        calls = None
    if calls is not None:
        if case.expect_error == "rewrite" and not case.junk:
            fails.append("P1 an invalid EMBED was accepted")
        pos, rebuilt = 0, []
        for c in calls:
            if c.start < pos or sql[c.start:c.end] != c.text or not re.match(r"(?i)embed\s*\(", c.text) \
                    or not c.text.endswith(")"):
                fails.append(f"P2 bad call span {c.start}..{c.end} {c.text!r}")
                break
            rebuilt += [sql[pos:c.start], c.text]
            pos = c.end
        rebuilt.append(sql[pos:])
        if "".join(rebuilt) != sql:
            fails.append("P2 re-splicing the calls' own text does not give the input")
        if not case.junk:
            want = [e.text for e in case.embeds]
            got = [c.text for c in calls]
            if got != want:
                fails.append(f"P2 calls found {got!r}, written {want!r}")
            elif [c.query for c in calls] != [e.query for e in case.embeds]:
                fails.append(f"P2 parsed terms differ: {[c.query for c in calls]!r} vs "
                             f"{[e.query for e in case.embeds]!r}")
        counts["embeds"] = len(calls)
        vecs = [_vector_for(c.query) for c in calls]
        try:
            sent = splice(sql, calls, vecs)
        except Exception as e:  # noqa: BLE001
            fails.append(f"P1 splice crashed: {type(e).__name__}: {e}")
            return fails, counts
        # the spliced text is the input with each call replaced by its literal, nothing else
        pos_in, pos_out = 0, 0
        for c, v in zip(calls, vecs):
            before = sql[pos_in:c.start]
            if not sent.startswith(before, pos_out):
                fails.append("P2 text between calls changed by the splice")
                break
            pos_out += len(before)
            end = sent.index("]", pos_out) + 1
            if not np.array_equal(_read_vector(sent[pos_out:end]), v):
                fails.append("P2 a spliced literal does not read back as its vector")
                break
            pos_out, pos_in = end, c.end
        else:
            if sent[pos_out:] != sql[pos_in:]:
                fails.append("P2 text after the last call changed by the splice")
        if not case.junk and not fails:
            by = {}
            seg_texts = case.segment_texts(lambda k, e: by.setdefault(k, format_vector(_vector_for(e.query))))
            if "".join(seg_texts) != sent:
                fails.append("P2 spliced output differs from the generator's rendering")

    # ---------------------------------------------------------------- bridge + lint
    for target in ("clickhouse", "myscale"):
        free = FREE[target]
        has_free = any(s.kind == free for s in case.segments)
        try:
            tr = translate(sent, target=target, catalog=CATALOGS[target])
        except EmbedSQLError:
            counts[f"translate_error_{target}"] = 1
            if not case.junk and not (case.expect_error == "translate" and target == "clickhouse") \
                    and case.expect_error != "rewrite":
                fails.append(f"P1 translate({target}) raised on a clean statement")
            continue
        except Exception as e:  # noqa: BLE001
            fails.append(f"P1 translate({target}) crashed: {type(e).__name__}: {e}")
            continue
        if tr.changed:
            counts[f"translated_{target}"] = 1
        if target == "clickhouse" and vecs:
            # the session sends EMBED vectors to ClickHouse in their wire form (cast_vector):
            # that text translates as the literal does, the literal staying wrapped
            lits = [format_vector(v) for v in vecs]
            try:
                wired = translate(splice_text(sql, calls, [cast_vector(x) for x in lits]), target=target,
                                  catalog=CATALOGS[target])
                want = tr.sql
                for x in dict.fromkeys(lits):
                    want = [st.replace(x, cast_vector(x)) for st in want]
                if wired.sql != want:
                    fails.append("P7 the wire form of a vector translates otherwise than its literal")
            except Exception as e:  # noqa: BLE001
                fails.append(f"P7 translate(clickhouse) of the wire form raised {type(e).__name__}: {e}")
        if not has_free or (case.junk and not tr.changed):
            if (not has_free and not case.junk) or case.junk:
                if tr.changed and not case.junk:
                    fails.append(f"P3 translate({target}) changed a statement without constructs")
                elif not tr.changed and tr.sql != [sent]:
                    fails.append(f"P3 translate({target}) unchanged but not byte for byte")
        elif not case.junk:
            if target == "clickhouse" and not tr.changed and case.expect_error != "translate":
                fails.append("P4 a MyScale construct was not translated")
            if not case.whole and tr.changed:
                out0 = tr.sql[0]
                if case.ef_s and target == "clickhouse":
                    out0 = _without_ef_setting(out0, case.ef_s)
                why = _locality(out0, list(zip([s.kind for s in case.segments], seg_texts)), free)
                if why:
                    fails.append(f"P4 translate({target}): {why}")
            elif not tr.changed and tr.sql != [sent]:
                fails.append(f"P3 translate({target}) unchanged but not byte for byte")
        for st in tr.sql:
            try:
                lint(st, CATALOGS[target], dialect=target)
            except Exception as e:  # noqa: BLE001
                fails.append(f"P6 lint({target}) raised {type(e).__name__}: {e}")
            if target == "clickhouse" and tr.changed and not case.junk:
                try:
                    again = translate(st, target="clickhouse", catalog=CATALOGS["clickhouse"])
                    if again.sql != [st]:
                        fails.append(f"P5 translating the output again changed it: {st[:120]!r}")
                except Exception as e:  # noqa: BLE001
                    fails.append(f"P5 translating the output again raised {type(e).__name__}: {e}")
    return fails, counts


@dataclass
class Summary:
    statements: int = 0
    seconds: float = 0.0
    counts: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)  # (seed, sql, [messages])
    failed_cases: int = 0

    def report(self, limit: int = 8) -> str:
        lines = [f"{self.failed_cases} of {self.statements} statements failed"]
        for seed, sql, msgs in self.failures[:limit]:
            lines.append(f"--- seed {seed}: {sql!r}")
            lines += [f"    {m}" for m in msgs]
        return "\n".join(lines)


def run(n: int, start: int = 0) -> Summary:
    s = Summary()
    t0 = time.perf_counter()
    for seed in range(start, start + n):
        case = generate(seed)
        fails, counts = check_case(case)
        s.statements += 1
        for k, v in counts.items():
            s.counts[k] = s.counts.get(k, 0) + v
        if case.junk:
            s.counts["with_junk"] = s.counts.get("with_junk", 0) + 1
        if fails:
            s.failed_cases += 1
            if len(s.failures) < 50:
                s.failures.append((seed, case.render(), fails))
    s.seconds = time.perf_counter() - t0
    return s
