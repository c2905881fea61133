"""Secure messages: threads, read receipts, unread counts, access and bad input."""

from __future__ import annotations

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.mail import OutboundEmail
from portal.messaging import services
from portal.messaging.models import Message
from tests.conftest import csrf_token


def _count(db, model, *where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def _post(client, path: str, body: str, **extra):
    data = {"body": body, "csrf_token": csrf_token(client, path), **extra}
    return client.post(path, data=data)


def test_patient_and_coach_exchange_messages_with_read_receipts(db, patient, coach, patient_client, coach_client):
    response = _post(patient_client, "/messages/", "My back was stiff this morning.\nIs that normal?")
    assert response.status_code == 302
    message = db.session.scalar(db.select(Message))
    assert (message.patient_id, message.sender_id, message.recipient_id) == (patient.id, patient.id, coach.id)
    assert message.body == "My back was stiff this morning.\nIs that normal?"
    assert message.read_at is None

    # The patient sees it as sent, not yet seen.
    html = patient_client.get("/messages/").get_data(as_text=True)
    assert "Sent" in html and "Seen" not in html

    # The coach's badge and inbox count it; opening the thread reads it.
    assert services.unread_count(coach) == 1
    inbox = coach_client.get("/messages/inbox").get_data(as_text=True)
    assert "1 unread" in inbox and patient.name in inbox
    html = coach_client.get(f"/messages/patients/{patient.id}").get_data(as_text=True)
    assert "Is that normal?" in html
    db.session.expire_all()
    assert db.session.get(Message, message.id).read_at is not None
    assert services.unread_count(coach) == 0
    assert "Seen" in patient_client.get("/messages/").get_data(as_text=True)

    # The coach replies; the patient's nav badge shows it until they open the thread.
    assert (
        _post(coach_client, f"/messages/patients/{patient.id}", "Yes, mornings are often stiffer.").status_code == 302
    )
    assert services.unread_count(patient) == 1
    html = patient_client.get("/messages/").get_data(as_text=True)
    assert "mornings are often stiffer" in html
    assert services.unread_count(patient) == 0


def test_message_text_is_escaped_and_line_breaks_kept(db, patient_client):
    _post(patient_client, "/messages/", "<script>alert(1)</script>\r\nsecond line")
    html = patient_client.get("/messages/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nsecond line" in html
    assert db.session.scalar(db.select(Message.body)) == "<script>alert(1)</script>\nsecond line"


def test_empty_and_oversized_messages_are_refused_beside_the_field(db, patient_client):
    for body, expected in (
        ("   \n ", "Write a message before sending."),
        ("x" * 2001, "2,000 characters or fewer"),
        ("bell\x07", "control characters"),
    ):
        response = _post(patient_client, "/messages/", body)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert expected in html and 'id="body-error"' in html
    # Exactly 2,000 characters is fine; CRLF line breaks count as one.
    assert _post(patient_client, "/messages/", "y" * 1998 + "\r\nz").status_code == 302
    assert _count(db, Message) == 1


def test_missing_csrf_and_huge_body_write_nothing(db, patient_client):
    assert patient_client.post("/messages/", data={"body": "hello"}).status_code == 400
    huge = {"body": "x" * (2 * 1024 * 1024), "csrf_token": csrf_token(patient_client, "/messages/")}
    assert patient_client.post("/messages/", data=huge).status_code == 413
    assert _count(db, Message) == 0


def test_nobody_reads_or_posts_in_another_coachs_thread(db, make_user, patient, coach_client, login_as):
    other_coach = make_user(Role.COACH)
    stranger = make_user(Role.PATIENT, coach=other_coach)
    path = f"/messages/patients/{stranger.id}"
    assert coach_client.get(path).status_code == 404
    assert _post(coach_client, f"/messages/patients/{patient.id}", "hi").status_code == 302  # own patient: fine
    token = csrf_token(coach_client, f"/messages/patients/{patient.id}")
    for forged in (stranger.id, 999_999, other_coach.id):
        response = coach_client.post(f"/messages/patients/{forged}", data={"body": "hello", "csrf_token": token})
        assert response.status_code == 404
    assert _count(db, Message) == 1
    # Patients and admins do not use the coach pages at all.
    patient_client = login_as(patient)
    assert patient_client.get(f"/messages/patients/{patient.id}").status_code == 403
    assert patient_client.get("/messages/inbox").status_code == 403
    assert coach_client.get("/messages/").status_code == 403


def test_admin_cannot_read_threads(db, admin_client, patient):
    assert admin_client.get(f"/messages/patients/{patient.id}").status_code == 403
    assert admin_client.get("/messages/inbox").status_code == 403
    assert admin_client.get("/messages/").status_code == 403


def test_reassigned_patient_history_stays_with_the_thread(
    db, make_user, patient, coach, patient_client, coach_client, login_as
):
    _post(patient_client, "/messages/", "Before the change of coach.")
    new_coach = make_user(Role.COACH, name="Nadia Newcoach")
    patient.coach_id = new_coach.id
    db.session.commit()
    new_client = login_as(new_coach)
    assert services.unread_count(new_coach) == 1  # unread by staff follows the patient
    assert services.unread_count(coach) == 0
    html = new_client.get(f"/messages/patients/{patient.id}").get_data(as_text=True)
    assert "Before the change of coach." in html
    assert coach_client.get(f"/messages/patients/{patient.id}").status_code == 404
    _post(patient_client, "/messages/", "Hello new coach")
    assert db.session.scalar(db.select(Message.recipient_id).order_by(Message.id.desc()).limit(1)) == new_coach.id


def test_patient_without_coach_cannot_send(db, make_user, login_as):
    lonely = make_user(Role.PATIENT)
    lonely.coach_id = None
    db.session.commit()
    client = login_as(lonely)
    html = client.get("/messages/").get_data(as_text=True)
    assert "do not have a coach assigned" in html
    token = csrf_token(client, "/account")
    response = client.post("/messages/", data={"body": "anyone?", "csrf_token": token})
    assert response.status_code == 409
    assert _count(db, Message) == 0


def test_coach_views_of_a_thread_are_audited(db, patient, coach_client):
    coach_client.get(f"/messages/patients/{patient.id}")
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "messages.view"))
    assert event is not None and event.patient_id == patient.id


def test_replying_marks_the_other_side_read(db, patient, coach, patient_client, coach_client):
    _post(patient_client, "/messages/", "Question one")
    services.send_message(coach, patient, "Answer")
    db.session.commit()
    assert _count(db, Message, Message.sender_id == patient.id, Message.read_at.is_(None)) == 0


def test_inbox_lists_every_roster_patient_unread_first(db, make_user, coach, patient, coach_client):
    quiet = make_user(Role.PATIENT, coach=coach, name="Quinn Quiet")
    chatty = make_user(Role.PATIENT, coach=coach, name="Zara Chatty")
    services.send_message(chatty, chatty, "First")
    services.send_message(chatty, chatty, "Second, longer " + "word " * 40)
    db.session.commit()
    html = coach_client.get("/messages/inbox").get_data(as_text=True)
    assert html.index("Zara Chatty") < html.index("Quinn Quiet")
    assert "2 unread" in html and "Second, longer" in html and "…" in html
    assert quiet.name in html and patient.name in html
    assert coach_client.get("/messages/inbox?page=abc").status_code == 400


def test_inbox_and_thread_query_counts_do_not_grow(db, make_user, coach, patient, coach_client, queries):
    def add(n: int) -> None:
        for _ in range(n):
            p = make_user(Role.PATIENT, coach=coach)
            services.send_message(p, p, "hello")
            services.send_message(coach, p, "hi there")
            services.send_message(coach, patient, "to the first patient")
        db.session.commit()

    add(2)
    with queries() as small_inbox:
        coach_client.get("/messages/inbox")
    with queries() as small_thread:
        coach_client.get(f"/messages/patients/{patient.id}")
    add(12)
    with queries() as large_inbox:
        coach_client.get("/messages/inbox")
    with queries() as large_thread:
        coach_client.get(f"/messages/patients/{patient.id}")
    assert len(large_inbox) == len(small_inbox)
    assert len(large_thread) == len(small_thread)


def test_long_threads_page_back_to_earlier_messages(db, patient, coach, patient_client):
    for n in range(35):
        services.send_message(coach, patient, f"Note number {n:02d}")
    db.session.commit()
    html = patient_client.get("/messages/").get_data(as_text=True)
    assert "Note number 34" in html and "Note number 04" not in html and "Show earlier messages" in html
    html = patient_client.get("/messages/?page=2").get_data(as_text=True)
    assert "Note number 04" in html
    assert patient_client.get("/messages/?page=0").status_code == 400


def test_unread_by_patient_is_one_grouped_query(db, make_user, coach, queries):
    patients = [make_user(Role.PATIENT, coach=coach) for _ in range(3)]
    for p in patients[:2]:
        services.send_message(p, p, "hello")
    services.send_message(patients[0], patients[0], "again")
    db.session.commit()
    ids = [p.id for p in patients]
    with queries() as stmts:
        counts = services.unread_by_patient(ids)
    assert len(stmts) == 1
    assert counts == {patients[0].id: 2, patients[1].id: 1}


def test_no_email_queued_when_notifications_off(db, patient, coach, patient_client):
    coach.email_notifications = False
    db.session.commit()
    _post(patient_client, "/messages/", "hello")
    assert _count(db, OutboundEmail) == 0


def test_roster_shows_unread_counts_with_one_grouped_query(db, make_user, coach, patient, coach_client, queries):
    services.send_message(patient, patient, "hello")
    services.send_message(patient, patient, "are you there?")
    db.session.commit()
    html = coach_client.get("/coach/").get_data(as_text=True)
    assert 'data-unread="2"' in html and f'href="/messages/patients/{patient.id}"' in html
    with queries() as small:
        coach_client.get("/coach/")
    for _ in range(8):
        other = make_user(Role.PATIENT, coach=coach)
        services.send_message(other, other, "hi")
    db.session.commit()
    with queries() as large:
        html = coach_client.get("/coach/").get_data(as_text=True)
    assert len(large) == len(small)
    assert html.count('data-unread="1"') == 8


def test_coach_replies_from_the_patient_page(db, patient, coach, coach_client):
    services.send_message(patient, patient, "Can I swim this week?")
    db.session.commit()
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert 'id="messages"' in html and "Can I swim this week?" in html and "1 unread" in html
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")
    response = coach_client.post(
        f"/messages/patients/{patient.id}",
        data={"body": "Yes, gentle laps are fine.", "back": "patient", "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/coach/patients/{patient.id}#messages")
    # Any other "back" value is ignored: no open redirect.
    response = coach_client.post(
        f"/messages/patients/{patient.id}",
        data={"body": "Again", "back": "https://evil.example/", "csrf_token": token},
    )
    assert response.headers["Location"].endswith(f"/messages/patients/{patient.id}#message-form")
    assert _count(db, Message, Message.sender_id == coach.id) == 2
    assert _count(db, Message, Message.sender_id == patient.id, Message.read_at.is_(None)) == 0


def test_nav_badge_shows_unread_count(db, patient, coach, patient_client, coach_client):
    services.send_message(patient, patient, "one")
    services.send_message(patient, patient, "two")
    db.session.commit()
    html = coach_client.get("/messages/inbox").get_data(as_text=True)
    assert 'data-badge="unread_messages">2<' in html
    coach_client.get(f"/messages/patients/{patient.id}")
    html = coach_client.get("/messages/inbox").get_data(as_text=True)
    assert 'data-badge="unread_messages"' not in html


def test_inbox_names_who_wrote_last(db, make_user, coach, patient, coach_client):
    services.send_message(coach, patient, "From me")
    db.session.commit()
    assert "You: From me" in coach_client.get("/messages/inbox").get_data(as_text=True)
    previous = make_user(Role.COACH, name="Olga Oldcoach")
    services.send_message(previous, patient, "From the previous coach")
    db.session.commit()
    assert "Olga Oldcoach: From the previous coach" in coach_client.get("/messages/inbox").get_data(as_text=True)


def test_invalid_reply_from_the_patient_page_keeps_the_way_back(db, patient, coach_client):
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")
    response = coach_client.post(
        f"/messages/patients/{patient.id}", data={"body": "", "back": "patient", "csrf_token": token}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Write a message before sending." in html and 'name="back" value="patient"' in html
    assert _count(db, Message) == 0


def test_deactivated_patients_do_not_count_in_the_coach_badge(db, patient, coach):
    services.send_message(patient, patient, "hello")
    db.session.commit()
    assert services.unread_count(coach) == 1
    patient.is_active = False
    db.session.commit()
    assert services.unread_count(coach) == 0


def test_a_patient_cannot_steer_a_message_into_another_thread(db, make_user, patient, patient_client):
    other = make_user(Role.PATIENT)
    token = csrf_token(patient_client, "/messages/")
    response = patient_client.post(
        "/messages/",
        data={"body": "hello", "patient_id": other.id, "recipient_id": other.coach_id, "csrf_token": token},
    )
    assert response.status_code == 302
    message = db.session.scalar(db.select(Message))
    assert (message.patient_id, message.recipient_id) == (patient.id, patient.coach_id)
    assert (
        patient_client.post(f"/messages/patients/{other.id}", data={"body": "x", "csrf_token": token}).status_code
        == 403
    )
    assert _count(db, Message) == 1
