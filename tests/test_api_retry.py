"""Safe to retry: absolute session counts, partial check-in updates, Idempotency-Key on creating POSTs."""

from __future__ import annotations

import threading
import uuid

import pytest

from portal.care.models import CheckIn, ItemLog
from portal.care.pauses import pause_item
from portal.extensions import db as _db
from portal.messaging.models import Message
from tests.plan_factories import make_item, make_plan
from tests.test_api import API, assert_problem, bearer, sign_in


@pytest.fixture
def plan(patient, coach):
    return make_plan(patient, coach, [make_item(title="Cat-cow stretch"), make_item(title="Walk")])


@pytest.fixture
def me(client, patient, plan):
    return bearer(sign_in(client, patient))


def _item(client, me, item_id: int) -> dict:
    return next(i for i in client.get(f"{API}/me/today", headers=me).json["items"] if i["id"] == item_id)


def _logged(item_id: int) -> int:
    _db.session.expire_all()
    return _db.session.scalar(_db.select(ItemLog.sessions_done).where(ItemLog.plan_item_id == item_id)) or 0


def test_the_same_count_twice_leaves_one_state(client, me, plan):
    item = plan.items[0]  # due twice a day
    assert _item(client, me, item.id)["sessions_due"] == 2
    for count in (1, 1, 1, 0, 0, 2, 2, 1):
        response = client.put(f"{API}/me/today/items/{item.id}", json={"sessions_done": count}, headers=me)
        assert response.status_code == 200
        assert (response.json["sessions_done"], response.json["done"]) == (count, count == 2)
        assert _logged(item.id) == count
        today = client.get(f"{API}/me/today", headers=me).json
        assert today["sessions_done"] == count and today["done_count"] == (1 if count == 2 else 0)


def test_more_sessions_than_due_is_refused_and_writes_nothing(client, me, plan):
    item = plan.items[0]
    client.put(f"{API}/me/today/items/{item.id}", json={"sessions_done": 1}, headers=me)
    body = assert_problem(client.put(f"{API}/me/today/items/{item.id}", json={"sessions_done": 3}, headers=me), 422)
    assert body["code"] == "sessions_over_due" and body["errors"][0]["field"] == "sessions_done"
    assert _logged(item.id) == 1
    for bad in ({"sessions_done": -1}, {"sessions_done": 1, "done": True}, {}, {"sessions_done": "2"}):
        assert assert_problem(client.put(f"{API}/me/today/items/{item.id}", json=bad, headers=me), 422)["code"] == (
            "validation_failed"
        )
    assert _logged(item.id) == 1


def test_the_deprecated_done_flag_sets_all_or_none_and_is_documented_so(client, me, plan):
    item = plan.items[0]
    for _attempt in range(2):
        done = client.put(f"{API}/me/today/items/{item.id}", json={"done": True}, headers=me)
        assert done.status_code == 200 and done.json["sessions_done"] == 2 and done.json["done"] is True
    undone = client.put(f"{API}/me/today/items/{item.id}", json={"done": False}, headers=me)
    assert undone.json["sessions_done"] == 0 and _logged(item.id) == 0
    spec = client.get(f"{API}/openapi.json").json
    schema = spec["components"]["schemas"]["MarkItem"]["properties"]
    assert schema["done"]["deprecated"] is True and "sessions_done" in schema


def test_a_paused_item_gains_no_session_but_can_give_one_back_and_repeat_its_count(client, me, plan, coach):
    item = plan.items[0]
    client.put(f"{API}/me/today/items/{item.id}", json={"sessions_done": 1}, headers=me)
    pause_item(plan, item, "Rest the knee", coach)
    _db.session.commit()
    shown = _item(client, me, item.id)
    assert (
        shown["paused"]["by"] == "coach" and shown["paused"]["reason"] == "Rest the knee" and shown["paused"]["since"]
    )
    body = assert_problem(client.put(f"{API}/me/today/items/{item.id}", json={"sessions_done": 2}, headers=me), 409)
    assert body["code"] == "item_paused"
    assert client.put(f"{API}/me/today/items/{item.id}", json={"sessions_done": 1}, headers=me).status_code == 200
    assert client.put(f"{API}/me/today/items/{item.id}", json={"sessions_done": 0}, headers=me).status_code == 200
    assert _logged(item.id) == 0


def test_patch_changes_only_the_fields_sent_and_put_replaces_the_whole_check_in(client, me, patient):
    body = assert_problem(client.patch(f"{API}/me/checkins/today", json={"notes": "x"}, headers=me), 404)
    assert body["code"] == "checkin_missing"
    full = {"pain": 5, "stiffness": 4, "spasm_episodes": 3, "sleep_quality": 2, "water_glasses": 6, "notes": "Stiff"}
    assert client.put(f"{API}/me/checkins/today", json=full, headers=me).json["created"] is True
    patched = client.patch(f"{API}/me/checkins/today", json={"pain": 3}, headers=me)
    assert patched.status_code == 200 and patched.json["created"] is False
    saved = patched.json["checkin"]
    assert (saved["pain"], saved["stiffness"], saved["spasm_episodes"], saved["notes"]) == (3, 4, 3, "Stiff")
    assert saved["sleep_quality"] == 2 and saved["water_glasses"] == 6
    # The same PATCH again leaves the same check-in.
    assert client.patch(f"{API}/me/checkins/today", json={"pain": 3}, headers=me).json["checkin"] == saved
    replaced = client.put(f"{API}/me/checkins/today", json={"pain": 2, "stiffness": 2}, headers=me).json["checkin"]
    assert (replaced["spasm_episodes"], replaced["notes"], replaced["sleep_quality"]) == (0, "", None)
    assert _db.session.scalar(_db.select(_db.func.count(CheckIn.id)).where(CheckIn.patient_id == patient.id)) == 1
    assert_problem(client.patch(f"{API}/me/checkins/today", json={"pain": 12}, headers=me), 422)


def test_a_red_flag_sent_by_patch_raises_the_alert_like_the_form(client, me, patient):
    client.put(f"{API}/me/checkins/today", json={"pain": 3, "stiffness": 2}, headers=me)
    flagged = client.patch(f"{API}/me/checkins/today", json={"rf_walking": True}, headers=me).json
    assert flagged["checkin"]["red_flags"] == ["rf_walking"] and flagged["safety_advice"]
    assert flagged["checkin"]["pain"] == 3


def _messages(patient_id: int) -> int:
    _db.session.expire_all()
    return _db.session.scalar(_db.select(_db.func.count(Message.id)).where(Message.patient_id == patient_id))


def test_a_message_sent_twice_with_one_key_is_sent_once(client, me, patient):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(f"{API}/me/messages", json={"body": "Is it normal?"}, headers={**me, **key})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = client.post(f"{API}/me/messages", json={"body": "Is it normal?"}, headers={**me, **key})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json and _messages(patient.id) == 1
    other = assert_problem(client.post(f"{API}/me/messages", json={"body": "Other"}, headers={**me, **key}), 422)
    assert other["code"] == "idempotency_key_reused" and _messages(patient.id) == 1
    # Without a key every request is its own; with a new key too.
    assert client.post(f"{API}/me/messages", json={"body": "Is it normal?"}, headers=me).status_code == 201
    new_key = {**me, "Idempotency-Key": str(uuid.uuid4())}
    assert client.post(f"{API}/me/messages", json={"body": "Is it normal?"}, headers=new_key).status_code == 201
    assert _messages(patient.id) == 3


def test_a_refused_request_frees_its_key_and_keys_are_per_user(app, client, me, patient, coach):
    key = {"Idempotency-Key": "retry-1"}
    refused = client.post(f"{API}/me/messages", json={"body": "   "}, headers={**me, **key})
    assert refused.status_code == 422
    assert client.post(f"{API}/me/messages", json={"body": "Now real"}, headers={**me, **key}).status_code == 201
    staff = bearer(sign_in(app.test_client(), coach))
    reply = client.post(f"{API}/coach/patients/{patient.id}/messages", json={"body": "Hi"}, headers={**staff, **key})
    assert reply.status_code == 201 and "Idempotent-Replayed" not in reply.headers
    assert _messages(patient.id) == 2
    bad = client.post(f"{API}/me/messages", json={"body": "x"}, headers={**me, "Idempotency-Key": "x" * 256})
    assert assert_problem(bad, 400)["code"] == "bad_request"


def test_two_copies_racing_send_one_message(app, patient, me, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL's concurrent transactions")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    answers: list[int] = []

    def send() -> None:
        # A plain client: keeping the request's context (``with``) would pop it from another thread's stack.
        racer = app.test_client()
        answers.append(racer.post(f"{API}/me/messages", json={"body": "Race"}, headers={**me, **key}).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _messages(patient.id) == 1
    assert answers.count(201) >= 1 and set(answers) <= {201, 409}
