"""Words used in several senses carry a context, so that each sense gets its own Japanese."""

import pytest
from django.urls import reverse
from django.utils import translation

from madoguchi.commerce.models import OrderImport
from madoguchi.connectors.line.models import LineOutbound
from madoguchi.connectors.mail.models import OutboundMail
from madoguchi.connectors.webform.forms import ContactForm
from madoguchi.conversations.models import Message
from madoguchi.operations.forms import ReplyTemplateForm


def test_queued_is_waiting_to_be_sent_for_messages_and_waiting_to_run_for_imports():
    with translation.override("ja"):
        assert str(Message.DeliveryStatus.QUEUED.label) == "送信待ち"
        assert str(OutboundMail.Status.QUEUED.label) == "送信待ち"
        assert str(LineOutbound.Status.QUEUED.label) == "送信待ち"
        assert str(OrderImport.Status.QUEUED.label) == "待機中"
    with translation.override("en"):
        assert str(OrderImport.Status.QUEUED.label) == "Queued"
        assert str(Message.DeliveryStatus.QUEUED.label) == "Queued"


def test_name_of_a_person_and_of_a_thing():
    with translation.override("ja"):
        assert str(ContactForm.base_fields["name"].label) == "お名前"
        assert str(ReplyTemplateForm.base_fields["name"].label) == "名称"
    with translation.override("en"):
        assert str(ReplyTemplateForm.base_fields["name"].label) == "Name"


@pytest.mark.parametrize(
    ("url_name", "user"),
    [("operations:templates", "operator_tea"), ("line:deliveries", "supervisor")],
)
def test_pages_name_the_template_and_the_channel(client, world, url_name, user):
    client.force_login(getattr(world, user))
    html = client.get(reverse(url_name, args=[world.tea.slug])).content.decode()
    assert "名称" in html
    assert "お名前" not in html


@pytest.mark.parametrize("url_name", ["operations:templates", "line:deliveries"])
def test_another_shops_pages_are_not_found(client, world, url_name):
    client.force_login(world.operator_ceramics)
    assert client.get(reverse(url_name, args=[world.tea.slug])).status_code == 404
