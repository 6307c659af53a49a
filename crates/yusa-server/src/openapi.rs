//! `GET /openapi.json`: an OpenAPI 3.0 description of the routes, written out by hand so that it
//! documents exactly the bodies `api` accepts (kept in step by the API tests, which post the examples).

use serde_json::{json, Value};

fn body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn ok(desc: &str) -> Value {
    json!({
        "200": {"description": desc},
        "4XX": {"description": "bad input: JSON body {error, detail}", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "503": {"description": "encoder queue full; retry after the Retry-After header"}
    })
}

pub fn spec() -> Value {
    let name = json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$"}});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "yusa", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Korean semantic search and near-duplicate detection"},
        "paths": {
            "/health": {"get": {"summary": "Liveness: 503 {status: unhealthy, reason} when the encoder is stalled or the store does not answer", "responses": ok("{status: ok}")}},
            "/info": {"get": {"summary": "Models, collections, limits", "responses": ok("server facts")}},
            "/metrics": {"get": {"summary": "Prometheus metrics (text format)", "responses": ok("metrics")}},
            "/collections": {
                "post": {"summary": "Create a collection", "requestBody": body(json!({"type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"}, "asymmetric": {"type": "boolean",
                    "description": "true: embed documents as passages (question → passage search); false: as sentences (similar texts, duplicates); absent: the first documents decide (median of 200 characters or more: passages) and the response to that ingest says so in `notice`"}}})),
                    "responses": ok("collection stats (201)")},
                "get": {"summary": "List collections", "responses": ok("{collections: [stats]}")}
            },
            "/collections/{name}": {"delete": {"summary": "Delete a collection", "parameters": [name], "responses": ok("{deleted}")}},
            "/collections/{name}/documents": {"post": {"summary": "Add or upsert documents (durable and searchable on return)",
                "parameters": [name],
                "requestBody": body(json!({"type": "object", "required": ["documents"], "properties": {"documents": {"type": "array", "maxItems": 1000,
                    "items": {"$ref": "#/components/schemas/NewDoc"}},
                    "on_duplicate": {"type": "string", "enum": ["allow", "flag", "skip"], "default": "allow"}}})),
                "responses": ok("{documents: [{id, stored, replaced?, duplicates?}], collection_size}")},
                "get": {"summary": "A page of documents in the order they were added",
                "parameters": [name, {"name": "offset", "in": "query", "schema": {"type": "integer"}}, {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}}],
                "responses": ok("{total, offset, limit, documents}")}},
            "/collections/{name}/documents/{id}": {
                "get": {"summary": "Get a document", "parameters": [name, id], "responses": ok("{id, text, metadata}")},
                "delete": {"summary": "Delete a document", "parameters": [name, id], "responses": ok("{deleted}")}
            },
            "/collections/{name}/search": {"post": {"summary": "Hybrid / dense / lexical search with optional rerank",
                "parameters": [name], "requestBody": body(json!({"$ref": "#/components/schemas/SearchRequest"})),
                "responses": ok("{hits: [{id, text, metadata, score, score_kind, sts?, relevance?, cosine?, bm25?, fused?, dense_rank?, lexical_rank?, passage?: {start, end, text}, matched_terms?}], mode, reranked, notice?, took_ms}")}},
            "/collections/{name}/duplicates/check": {"post": {"summary": "Which stored documents each text duplicates, with evidence",
                "parameters": [name], "requestBody": body(json!({"type": "object", "required": ["texts"], "properties": {
                    "texts": {"type": "array", "items": {"type": "string"}}, "preset": {"$ref": "#/components/schemas/Preset"},
                    "thresholds": {"$ref": "#/components/schemas/Thresholds"}, "filter": {"$ref": "#/components/schemas/Filter"}}})),
                "responses": ok("{verifier, thresholds, results: [{text, is_duplicate, duplicates: [{id, text, evidence}]}]}")}},
            "/collections/{name}/duplicates/scan": {"post": {"summary": "Cluster near-duplicates over the collection (background job)",
                "parameters": [name], "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "preset": {"$ref": "#/components/schemas/Preset"}, "thresholds": {"$ref": "#/components/schemas/Thresholds"},
                    "filter": {"$ref": "#/components/schemas/Filter"}}}}}},
                "responses": ok("202 {job_id, status_url}")}},
            "/collections/{name}/duplicates/settings": {
                "get": {"summary": "The collection's duplicate settings (preset, own values) and the thresholds they give",
                "parameters": [name], "responses": ok("{preset, thresholds, effective}")},
                "put": {"summary": "Replace the collection's duplicate settings ({} = the server's defaults); admin scope",
                "parameters": [name], "requestBody": body(json!({"$ref": "#/components/schemas/DedupSettings"})),
                "responses": ok("{preset, thresholds, effective}")}},
            "/collections/{name}/duplicates/calibrate": {
                "post": {"summary": "Fit the collection's own thresholds to the decisions recorded on it (at least 20 labelled pairs, both kinds) and store them as its settings; admin scope",
                "parameters": [name], "requestBody": body(json!({"type": "object", "properties": {
                    "target_precision": {"type": "number", "default": 0.95, "description": "precision the balanced thresholds must reach on the decisions' pairs (0.5–1)"}}})),
                "responses": ok("{pairs, duplicates, target_precision, on_these_pairs: {precision, recall, f1, ...}, sentiment_gap_fit, settings: {preset, thresholds, effective}}")}},
            "/collections/{name}/duplicates/decisions": {
                "post": {"summary": "Record a decision on a cluster: not_duplicates (scans stop pairing its members) or duplicates with keep (the others are deleted)",
                "parameters": [name], "requestBody": body(json!({"type": "object", "required": ["decision", "ids"], "properties": {
                    "decision": {"type": "string", "enum": ["not_duplicates", "duplicates", "withdrawn"], "description": "withdrawn: takes back an earlier not_duplicates on these ids"},
                    "ids": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                    "keep": {"type": "string", "description": "with duplicates: the id kept"}}})),
                "responses": ok("{verdict, members: [{id, text}], kept?, at}")},
                "get": {"summary": "Every decision recorded, oldest first; as=pairs gives labelled pairs (JSON lines) for yusa calibrate --pairs",
                "parameters": [name, {"name": "as", "in": "query", "schema": {"type": "string", "enum": ["pairs"]}}],
                "responses": ok("{decisions: [...]} or JSON lines {sentence1, sentence2, label}")}},
            "/collections/{name}/reembed": {"post": {"summary": "Move a collection to the server's bi-encoder (background job); admin scope",
                "parameters": [name], "responses": ok("202 {job_id, status_url}")}},
            "/collections/{name}/snapshots": {"post": {"summary": "Back up a collection: a consistent copy taken while it serves (background job; its report names the snapshot); admin scope",
                "parameters": [name], "responses": ok("202 {job_id, status_url}")}},
            "/snapshots": {"get": {"summary": "Every complete snapshot, oldest first; admin scope",
                "responses": ok("{snapshots: [{id, collection, seq, documents, decisions, created_unix, bytes, writes_paused_seconds}]}")}},
            "/snapshots/{id}/restore": {"post": {"summary": "Restore a snapshot as a new collection (verified before it appears); admin scope",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": body(json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}})),
                "responses": ok("collection stats (201)")}},
            "/jobs/{id}": {"get": {"summary": "A background job: status, progress, and its result when done",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": ok("{id, kind, status: running|done|failed|cancelled, stage, done, total, report?, clusters?, error?}")},
                "delete": {"summary": "Cancel a running job (it stops at its next step)",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": ok("202 {id, status, cancel_requested}")}},
            "/jobs": {"get": {"summary": "Every job, newest first, without results", "responses": ok("{jobs: [...]}")}},
            "/similarity": {"post": {"summary": "Pair similarity: STS 0–5 from the cross-encoder, else bi-encoder cosine",
                "requestBody": body(json!({"type": "object", "required": ["pairs"], "properties": {"pairs": {"type": "array",
                    "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}},
                    "collection": {"type": "string", "description": "decide with this collection's duplicate settings"},
                    "preset": {"$ref": "#/components/schemas/Preset"}, "thresholds": {"$ref": "#/components/schemas/Thresholds"}}})),
                "responses": ok("{method, model, scores: [{kind: sts|cosine, value}], decisions: [{is_duplicate, reason, sts?, same_meaning?, cosine, polarity_conflict?, role_conflict?, sentiment?: [a, b], differences}]}")}},
            "/embed": {"post": {"summary": "text-embeddings-inference compatible embeddings",
                "requestBody": body(json!({"type": "object", "required": ["inputs"], "properties": {
                    "inputs": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                    "normalize": {"type": "boolean", "default": true},
                    "role": {"type": "string", "enum": ["query", "passage", "raw"], "default": "query"}}})),
                "responses": ok("[[float]]")}},
            "/rerank": {"post": {"summary": "text-embeddings-inference compatible rerank (cross-encoder)",
                "requestBody": body(json!({"type": "object", "required": ["query", "texts"], "properties": {
                    "query": {"type": "string"}, "texts": {"type": "array", "items": {"type": "string"}},
                    "return_text": {"type": "boolean"}, "raw_scores": {"type": "boolean", "description": "STS 0–5 instead of 0–1"}}})),
                "responses": ok("[{index, score, text?}] best first")}}
        },
        "components": {"schemas": {
            "Preset": {"type": "string", "enum": ["strict", "balanced", "loose"], "description": "calibrated trade-offs; docs/guide.md lists their measured precision and recall"},
            "DedupSettings": {"type": "object", "properties": {"preset": {"$ref": "#/components/schemas/Preset"}, "thresholds": {"$ref": "#/components/schemas/Thresholds"}}},
            "Thresholds": {"type": "object", "description": "duplicate thresholds; in requests and settings, the values named replace the layer underneath (request over collection over preset)", "properties": {"candidate_cosine": {"type": "number"}, "candidate_jaccard": {"type": "number"},
                "sts": {"type": "number"}, "same_meaning": {"type": "number", "description": "with a duplicate model: duplicate when its probability of the same meaning is at least this (0–1)"}, "cosine": {"type": "number"}, "polarity_check": {"type": "boolean"}, "neighbours": {"type": "integer"},
                "sentiment_gap": {"type": "number", "description": "with the learned sentiment head: texts whose probabilities of being positive differ by at least this (0–1) are not duplicates"},
                "confident_cosine": {"type": "number"}, "scan_cross_encoder_from": {"type": "number"}}, "additionalProperties": false},
            "Error": {"type": "object", "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}},
            "Filter": {"type": "object", "description": "metadata conditions, all of which must hold: {field: value} (equality) or {field: {in: [values]}}; at most 16 fields", "additionalProperties": true},
            "NewDoc": {"type": "object", "required": ["text"], "properties": {"id": {"type": "string", "description": "also read as `_id`"}, "text": {"type": "string", "maxLength": 1048576},
                "title": {"type": "string", "description": "stored as the text's first line"},
                "metadata": {"type": "object"}}},
            "SearchRequest": {"type": "object", "required": ["query"], "properties": {
                "query": {"type": "string"}, "k": {"type": "integer", "default": 10, "minimum": 1, "maximum": 1000},
                "mode": {"type": "string", "enum": ["hybrid", "dense", "lexical"], "default": "hybrid"},
                "rerank": {"type": "boolean", "default": false, "description": "rerank the top rerank_depth candidates with the STS cross-encoder (opt-in: slower, and not better on paraKQC)"},
                "rerank_depth": {"type": "integer", "default": 20, "minimum": 1, "maximum": 200, "description": "how many of the top fused hits the cross-encoder rescores; with k above it, the hits past it follow in recall order with their own score_kind"},
                "fusion": {"oneOf": [
                    {"type": "object", "properties": {"method": {"enum": ["rrf"]}, "k": {"type": "number"}}},
                    {"type": "object", "properties": {"method": {"enum": ["dbsf", "weighted", "z_score"]}, "dense_weight": {"type": "number"}}}],
                    "description": "default: {method: weighted, dense_weight: 0.9} for symmetric collections, 0.3 for asymmetric (question → passage) ones"},
                "candidates": {"type": "integer"}, "ef_search": {"type": "integer"},
                "filter": {"$ref": "#/components/schemas/Filter"},
                "lexical_fields": {"enum": ["both", "bigrams", "morphemes"], "default": "both",
                    "description": "which lexical fields lexical recall reads: character bigrams and Korean morphemes (BM25 each, summed), or one of them"}}}
        }}
    })
}

#[cfg(test)]
mod tests {
    /// Every route the server registers is described, with its method.
    #[test]
    fn every_route_is_described() {
        let spec = super::spec();
        for r in super::super::ROUTES {
            if matches!(r.pattern, "/" | "/openapi.json") {
                continue;
            }
            let method = r.method.to_ascii_lowercase();
            assert!(
                spec["paths"][r.pattern][&method].is_object(),
                "{} {} is not in /openapi.json",
                r.method,
                r.pattern
            );
        }
    }
}
