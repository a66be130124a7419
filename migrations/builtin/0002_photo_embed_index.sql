-- Cosine vector index on photo_embed (the tutorial's step 7). On ClickHouse this becomes a
-- vector_similarity('hnsw', 'cosineDistance', <dim>) index, then MATERIALIZE INDEX; `migrate up`
-- waits until it is built.

-- +up
ALTER TABLE photos ADD VECTOR INDEX photo_embed_index photo_embed TYPE MSTG('metric_type=Cosine');

-- +down
ALTER TABLE photos DROP VECTOR INDEX photo_embed_index;
