"""The call form: a refusal shows the form again, in Japanese, with what was typed; the page
uses the shared form fields; the other shop's operator gets 404."""

import re

from django.urls import reverse

from madoguchi.connectors.phone.models import CallLog
from madoguchi.tenancy.scoping import unscoped

CALL = {
    "direction": "outbound",
    "number": "090-1234-5678",
    "result": "voicemail",
    "customer_name": "佐藤 花子",
    "duration": "3分20秒",
    "notes": "注文の確認。留守電に残した。",
    "follow_up_needed": "on",
    "callback_due_at": "2026-11-27T10:00",
}


def _post(client, **changes):
    return client.post(reverse("phone:call_new", args=["tea"]), {**CALL, **changes})


def test_a_duration_not_in_minutes_and_seconds_is_shown_beside_it_with_the_typing_kept(
    client, world
):
    client.force_login(world.operator_tea)
    response = _post(client)
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "duration": ["通話時間は「分:秒」で入力してください（例：3:20）。"]
    }
    page = response.content.decode()
    assert re.search(
        r'<div class="field has-error">\s*<label class="field__label" for="id_duration">'
        r"通話時間（分:秒）</label>\s*<input [^>]*name=\"duration\" value=\"3分20秒\"",
        page,
    )
    error = "通話時間は「分:秒」で入力してください（例：3:20）。"
    assert f'<p class="field__error" role="alert">{error}</p>' in page
    assert 'value="090-1234-5678"' in page
    assert 'value="佐藤 花子"' in page
    assert "注文の確認。留守電に残した。</textarea>" in page
    assert re.search(r'<input type="radio" name="direction" value="outbound"[^>]* checked', page)
    assert re.search(r'<input type="radio" name="result" value="voicemail"[^>]* checked', page)
    assert 'name="callback_due_at" value="2026-11-27T10:00"' in page
    assert "minutes:seconds" not in page
    with unscoped("test assertion"):
        assert not CallLog.objects.exists()


def test_an_unknown_ticket_number_is_shown_beside_it(client, world):
    client.force_login(world.operator_tea)
    response = _post(client, duration="3:20", ticket="#TEA-99999")
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "ticket": ["このショップにその番号のチケットはありません。"]
    }
    assert 'value="#TEA-99999"' in response.content.decode()


def test_a_good_call_is_logged(client, world):
    client.force_login(world.operator_tea)
    response = _post(client, duration="3:20")
    assert response.status_code == 302
    with unscoped("test assertion"):
        log = CallLog.objects.get()
    assert (log.direction, log.result, log.duration_seconds, log.number_normalized) == (
        "outbound",
        "voicemail",
        200,
        "09012345678",
    )


def test_the_call_page_uses_the_shared_form_fields(client, world):
    client.force_login(world.operator_tea)
    page = client.get(reverse("phone:call_new", args=["tea"]), {"number": "0312345678"})
    html = page.content.decode()
    assert 'class="stacked-form" data-testid="call-form"' in html
    assert '<label class="field__label" for="id_number">電話番号</label>' in html
    assert 'name="number" value="0312345678"' in html
    assert f'hx-get="{reverse("phone:lookup", args=["tea"])}"' in html
    assert html.count('<div class="field') >= 9


def test_another_shops_operator_gets_404(client, world):
    client.force_login(world.operator_ceramics)
    assert _post(client, duration="3:20").status_code == 404
    with unscoped("test assertion"):
        assert not CallLog.objects.exists()
