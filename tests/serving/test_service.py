"""The service as a client sees it: a real `bentoml serve` of the packaged pipeline output."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from shopfusion.registry import Registry
from tests.serving.conftest import Server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bundle(served_project):
    export = served_project / "models/export"
    return {"users": pd.read_parquet(export / "users.parquet")["user_id"].tolist(),
            "items": pd.read_parquet(export / "items.parquet")}


def event(user: str, item: str, event_id: str, event_type: str = "click", **kw) -> dict:
    ts = pd.Timestamp.now(tz="UTC").isoformat()
    return {"event_id": event_id, "user_id": user, "item_id": item, "event_type": event_type,
            "session_id": "s-test", "ts": ts, "price": 10.0, "quantity": 1, **kw}


def test_recommend_known_user_fuses_every_model(server, bundle):
    body = server.post("/recommend", {"user_id": bundle["users"][0], "k": 5}).json()
    assert len(body["items"]) == 5 and not body["degraded"] and not body["cold_start"]
    assert set(body["models"]) == {"popularity", "itemknn", "mf", "two_tower", "sasrec", "text"}
    assert all(i["item_id"] in set(bundle["items"]["item_id"]) for i in body["items"])
    scores = [i["score"] for i in body["items"]]
    assert any(i["models"] for i in body["items"])
    assert scores[:4] == sorted(scores[:4], reverse=True)  # the last slot may be a cold item


def test_concurrent_requests_are_batched_and_answer_like_single_ones(server, bundle):
    from concurrent.futures import ThreadPoolExecutor

    context = [bundle["items"]["item_id"].iloc[7]]  # context: always scored, never a kept answer
    bodies = [{"user_id": u, "k": 5, "context_items": context} for u in [*bundle["users"][:12], "never-seen"]]
    alone = [server.post("/recommend", b).json()["items"] for b in bodies]
    with ThreadPoolExecutor(len(bodies)) as pool:
        together = list(pool.map(lambda b: server.post("/recommend", b).json()["items"], bodies))
    assert [[i["item_id"] for i in r] for r in together] == [[i["item_id"] for i in r] for r in alone]


def test_unknown_user_gets_popular_items_and_context_changes_them(server, bundle):
    cold = server.post("/recommend", {"user_id": "never-seen", "k": 5}).json()
    assert cold["cold_start"] and cold["models"] == ["popularity"] and len(cold["items"]) == 5
    item = bundle["items"]["item_id"].iloc[3]
    ctx = server.post("/recommend", {"user_id": "never-seen", "k": 5, "context_items": [item]}).json()
    assert not ctx["cold_start"] and len(ctx["models"]) > 1
    assert [i["item_id"] for i in ctx["items"]] != [i["item_id"] for i in cold["items"]]
    assert item not in [i["item_id"] for i in ctx["items"]]


@pytest.mark.parametrize("body, field", [
    ({"k": 0}, "k"), ({"k": "ten"}, "k"), ({"k": 1000}, "k"), ({"context_items": "x"}, "context_items"),
])
def test_bad_recommend_input_is_a_400_naming_the_field(server, body, field):
    r = server.post("/recommend", body)
    assert r.status_code == 400 and field in r.text


def test_similar_and_unknown_item(server, bundle):
    item = bundle["items"]["item_id"].iloc[0]
    body = server.post("/similar", {"item_id": item, "k": 4}).json()
    assert len(body) == 4 and item not in [b["item_id"] for b in body]
    missing = server.post("/similar", {"item_id": "no-such-item"})
    assert missing.status_code == 404 and "no-such-item" in missing.text


def test_search_filters_and_personalization(server, bundle):
    items = bundle["items"]
    title = items["title"].iloc[7]
    hit = server.post("/search", {"query": title, "k": 5}).json()
    assert items["item_id"].iloc[7] in [i["item_id"] for i in hit["items"]] and not hit["personalized"]
    top = items["category_path"].iloc[7].split("/")[0]
    filtered = server.post("/search", {"query": title, "k": 20, "category": top, "max_price": 50}).json()
    by_id = items.set_index("item_id")
    for r in filtered["items"]:
        assert by_id.loc[r["item_id"], "category_path"].startswith(top)
        assert by_id.loc[r["item_id"], "price"] <= 50
    mine = server.post("/search", {"query": title, "k": 5, "user_id": bundle["users"][0]}).json()
    assert mine["personalized"]
    bad = server.post("/search", {"query": "x", "min_price": 10, "max_price": 1})
    assert bad.status_code == 400 and "min_price" in bad.text


def test_concurrent_searches_share_encoder_calls_and_answer_like_single_ones(server, bundle):
    from concurrent.futures import ThreadPoolExecutor

    titles = bundle["items"]["title"].iloc[:12].tolist()
    bodies = [{"query": t, "k": 5} for t in titles]
    bodies.append({"query": titles[0], "k": 5, "user_id": bundle["users"][2]})
    alone = [server.post("/search", b).json()["items"] for b in bodies]
    before = server.post("/metadata", {}).json()["query_batches"]
    with ThreadPoolExecutor(len(bodies)) as pool:
        together = list(pool.map(lambda b: server.post("/search", b).json()["items"], bodies))
    after = server.post("/metadata", {}).json()["query_batches"]
    assert after["requests"] - before["requests"] == len(bodies)
    assert after["calls"] - before["calls"] < len(bodies)  # some queries were encoded together
    for one, batched in zip(alone, together):  # a padded batch moves scores by float noise only
        assert one[0]["item_id"] == batched[0]["item_id"]
        assert [i["score"] for i in batched] == pytest.approx([i["score"] for i in one], abs=1e-4)


def test_feedback_reaches_the_next_recommend_and_is_logged(server, bundle, served_project):
    user, items = bundle["users"][1], bundle["items"]["item_id"]
    before = server.post("/recommend", {"user_id": user, "k": 10}).json()["items"]
    hits = server.post("/metadata").json()["answer_cache"]["hits"]
    assert server.post("/recommend", {"user_id": user, "k": 10}).json()["items"] == before
    assert server.post("/metadata").json()["answer_cache"]["hits"] == hits + 1  # kept, not rescored
    events = [event(user, items.iloc[i], f"t-fb-{i}") for i in (11, 12, 13)]
    result = server.post("/feedback", {"events": events}).json()
    assert result["accepted"] == 3 and result["pushed"] == 3 and not result["rejected"]
    after_body = server.post("/recommend", {"user_id": user, "k": 10}).json()
    assert after_body["based_on"][:3] == [items.iloc[i] for i in (13, 12, 11)]
    after = after_body["items"]
    assert [i["item_id"] for i in after] != [i["item_id"] for i in before]
    logged = "".join(p.read_text() for p in (served_project / "data/feedback").glob("events-*.jsonl"))
    assert all(f'"t-fb-{i}"' in logged for i in (11, 12, 13))
    again = server.post("/feedback", {"events": events[:1]}).json()
    assert again["accepted"] == 0 and again["duplicates"] == 1


def test_concurrent_clicks_and_a_chunked_batch_all_reach_the_next_recommend(server, bundle):
    """Single clicks of eight users sent beside one 150-event request (three lane chunks) of
    others: every event is logged and pushed, and each user's next answer is based on it."""
    from concurrent.futures import ThreadPoolExecutor

    items = bundle["items"]["item_id"]
    clickers, batch_users = bundle["users"][20:28], bundle["users"][40:190]
    big = [event(u, items.iloc[30 + n % 50], f"t-big-{n}") for n, u in enumerate(batch_users)]
    clicks = [event(u, items.iloc[90 + n], f"t-click-{n}") for n, u in enumerate(clickers)]
    lane_before = server.post("/metadata").json()["feedback_lane"]
    with ThreadPoolExecutor(9) as pool:
        sent = [pool.submit(server.post, "/feedback", {"events": big}),
                *(pool.submit(server.post, "/feedback", {"events": [c]}) for c in clicks)]
        results = [f.result().json() for f in sent]
    assert results[0]["accepted"] == results[0]["pushed"] == 150
    assert all(r["accepted"] == r["pushed"] == 1 for r in results[1:])
    for e in [*clicks, big[0], big[-1]]:
        answer = server.post("/recommend", {"user_id": e["user_id"], "k": 5}).json()
        assert answer["based_on"][0] == e["item_id"]
    lane = server.post("/metadata").json()["feedback_lane"]
    assert lane["chunks"] - lane_before["chunks"] == 3 + 8  # the batch's chunks, each click


def test_bad_feedback_is_quarantined_with_reasons(server, bundle, served_project):
    user, item = bundle["users"][2], bundle["items"]["item_id"].iloc[0]
    mixed = [event(user, item, "t-ok-1"), event(user, "not-in-catalog", "t-bad-1"),
             event(user, item, "t-bad-2", ts="2099-01-01T00:00:00Z")]
    result = server.post("/feedback", {"events": mixed}).json()
    assert result["accepted"] == 1
    reasons = {r["event_id"]: r["reasons"] for r in result["rejected"]}
    assert any("item_id" in r for r in reasons["t-bad-1"]) and any(":ts" in r for r in reasons["t-bad-2"])
    logs = (served_project / "data/feedback").glob("quarantine-*.jsonl")
    quarantined = "".join(p.read_text() for p in logs)
    assert "t-bad-1" in quarantined and "t-bad-2" in quarantined
    none_ok = server.post("/feedback", {"events": mixed[1:]})
    assert none_ok.status_code == 422 and "t-bad-1" in none_ok.text
    wrong_type = server.post("/feedback", {"events": [event(user, item, "t-x", event_type="clik")]})
    assert wrong_type.status_code == 400 and "event_type" in wrong_type.text


def test_request_log_keeps_pseudonyms_only(server, bundle, served_project):
    user = bundle["users"][3]

    def logged() -> str:
        return "".join(p.read_text() for p in (served_project / "data/serving").glob("requests-*.jsonl"))

    time.sleep(1)  # the writer thread appends every 0.2 s
    before = logged().count("\n")
    server.post("/recommend", {"user_id": user, "k": 3})
    deadline = time.monotonic() + 5
    while (text := logged()).count("\n") == before and time.monotonic() < deadline:
        time.sleep(0.1)
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) > before and records[-1]["endpoint"] == "recommend" and records[-1]["k"] == 3
    assert records and all(r["model_version"] for r in records)
    assert f'"{user}"' not in text and any(r["user"] and r["user"].startswith("u_") for r in records)
    assert all("latency_ms" in r for r in records)


def test_metadata_names_the_served_versions(server, served_project):
    meta = server.post("/metadata").json()
    assert meta["model_tag"] == Registry(served_project / "data/serving/registry.json").champion
    assert meta["data_version"] and set(meta["models"]) >= {"sasrec", "popularity"}


def test_online_store_down_degrades_instead_of_failing(served_project, bundle):
    params = served_project / "params-redis-down.yaml"
    conf = (served_project / "params.yaml").read_text().replace("profile: sqlite", "profile: redis").replace(
        "redis_connection: localhost:6379", "redis_connection: 127.0.0.1:1")
    params.write_text(conf)
    srv = Server(served_project, SHOPFUSION_PARAMS=str(params)).start()
    try:
        body = srv.post("/recommend", {"user_id": bundle["users"][0], "k": 5}).json()
        assert body["degraded"] and "online_store" in body["dropped"] and len(body["items"]) == 5
        found = srv.post("/search", {"query": bundle["items"]["title"].iloc[0], "k": 5,
                                     "user_id": bundle["users"][0]}).json()
        assert found["degraded"] and not found["personalized"] and len(found["items"]) == 5
        fb = srv.post("/feedback", {"events": [event(bundle["users"][0], bundle["items"]["item_id"].iloc[1],
                                                     "t-down-1")]}).json()
        assert fb["accepted"] == 1 and fb["pushed"] == 0 and fb["degraded"]
    finally:
        srv.stop()


def test_accepted_feedback_survives_a_restart_and_api_key_is_enforced(served_project, bundle):
    srv = Server(served_project, SHOPFUSION_API_KEY="s3cret").start()
    try:
        assert srv.post("/recommend", {"k": 3}).status_code == 401
        ok = srv.post("/feedback", {"events": [event(bundle["users"][4], bundle["items"]["item_id"].iloc[2],
                                                     "t-restart-1")]}, headers={"x-api-key": "s3cret"})
        assert ok.status_code == 200 and ok.json()["accepted"] == 1
        srv.stop()
        srv.start()
        resend = event(bundle["users"][4], bundle["items"]["item_id"].iloc[2], "t-restart-1")
        again = srv.post("/feedback", {"events": [resend]}, headers={"x-api-key": "s3cret"})
        assert again.json()["duplicates"] == 1  # the log survived; a resend is not logged twice
    finally:
        srv.stop()
