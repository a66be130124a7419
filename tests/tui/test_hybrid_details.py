"""A HybridSearch query in the app (issue 16): the fused score column is shown like any other
column, rows come in score order, and the details pane explains the fusion."""
from __future__ import annotations

from conftest import run_sql

from tui.app import EmbedSQLApp

SQL = ("SELECT photo_id, HybridSearch('fusion_type=RSF', 'fusion_weight=0.6')(photo_embed, photo_id, "
       "EMBED('a cat'), 'chelsea coffee') AS score FROM photos ORDER BY score DESC LIMIT 4")


async def test_hybrid_query_score_column_and_fusion_details(session):
    app = EmbedSQLApp(session=session, initial_sql=SQL, warm_model=False, syntax=False)
    async with app.run_test(size=(150, 45)) as pilot:
        await run_sql(app, pilot)
        assert app.last_error is None
        assert app.result.columns == ["photo_id", "score"]
        scores = [float(str(app.table.get_row_at(r)[1])) for r in range(app.table.row_count)]
        assert app.table.row_count == 4 and scores == sorted(scores, reverse=True)
        top = {str(app.table.get_row_at(r)[0]) for r in range(2)}
        assert top & {"chelsea", "coffee"}       # keyword matches on photo_id (tokenized on the fly)
        body = " ".join(app.query_one("#details").text.split())
        assert "fusion: HybridSearch('fusion_type=RSF') on photos: RSF: 0.6 × min-max normalised BM25" in body
        assert "the 12 nearest rows by L2Distance(photo_embed, …) (metric L2" in body  # no index: MyScale default
        assert "the score column is the fused score" in body
