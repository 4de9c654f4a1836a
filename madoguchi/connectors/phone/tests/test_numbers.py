"""The shop's own phone numbers: the page, the services, and their use on the call form."""

from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.phone import services
from madoguchi.connectors.phone.models import CallLog, PhoneNumber
from madoguchi.conversations.models import Ticket
from madoguchi.customers.models import ContactIdentity
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

NUMBERS = reverse("phone:numbers", args=["tea"])


def _number(world, shop=None, number="03-1111-2222", label="代表", **extra) -> PhoneNumber:
    shop = shop or world.tea
    with in_shop(shop.id):
        return services.phone_number_create(
            actor=actor_for_user(world.supervisor), shop=shop, number=number, label=label, **extra
        )


def test_lead_adds_a_number_stored_normalised_and_audited(client, world):
    client.force_login(world.supervisor)
    response = client.post(
        NUMBERS, {"number": "０３（１１１１）２２２２", "label": " 代表 ", "is_active": "on"}
    )
    assert response.status_code == 302
    assert response["Location"] == NUMBERS
    with in_shop(world.tea.id):
        phone_number = PhoneNumber.objects.get()
        assert (
            phone_number.shop_id,
            phone_number.number,
            phone_number.number_normalized,
            phone_number.label,
            phone_number.is_active,
        ) == (world.tea.id, "03(1111)2222", "0311112222", "代表", True)
        entry = AuditEntry.objects.get(action="phone_number.added")
        assert (entry.actor_id, entry.shop_id, entry.changes) == (
            world.supervisor.id,
            world.tea.id,
            {"number": "03(1111)2222", "label": "代表", "is_active": True},
        )
    page = client.get(NUMBERS)
    assert [(row.label, row.number) for row in page.context["numbers"]] == [
        ("代表", "03(1111)2222")
    ]


def test_a_duplicate_is_refused_in_japanese_and_the_form_keeps_what_was_typed(client, world):
    _number(world, number="03-1111-2222")
    client.force_login(world.supervisor)
    response = client.post(NUMBERS, {"number": "+81 3 1111 2222", "label": "注文専用"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "number": ["この番号はすでにショップの番号として登録されています。"]
    }
    html = response.content.decode()
    assert 'value="+81 3 1111 2222"' in html
    assert 'value="注文専用"' in html
    too_short = client.post(NUMBERS, {"number": "1234", "label": ""})
    assert too_short.context["form"].errors == {
        "number": ["電話番号を市外局番から入力してください（例: 03-1234-5678）。"]
    }
    with unscoped("test assertion"):
        assert PhoneNumber.objects.count() == 1


def test_the_same_number_may_belong_to_two_shops(world):
    _number(world, shop=world.tea)
    _number(world, shop=world.ceramics)
    with unscoped("test assertion"):
        assert sorted(PhoneNumber.objects.values_list("shop__slug", flat=True)) == [
            "ceramics",
            "tea",
        ]


def test_lead_edits_and_removes_a_number(client, world):
    phone_number = _number(world)
    client.force_login(world.admin)
    url = reverse("phone:number_edit", args=["tea", phone_number.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"].initial == {
        "number": "03-1111-2222",
        "label": "代表",
        "is_active": True,
    }
    response = client.post(url, {"number": "03-1111-2222", "label": "注文専用"})
    assert response.status_code == 302
    with in_shop(world.tea.id):
        phone_number.refresh_from_db()
        assert (phone_number.label, phone_number.is_active) == ("注文専用", False)
        assert AuditEntry.objects.get(action="phone_number.changed").changes == {
            "label": ["代表", "注文専用"],
            "is_active": [True, False],
        }
    response = client.post(reverse("phone:number_delete", args=["tea", phone_number.pk]))
    assert response.status_code == 302
    assert response["Location"] == NUMBERS
    with in_shop(world.tea.id):
        assert not PhoneNumber.objects.exists()
        assert AuditEntry.objects.get(action="phone_number.removed").changes == {
            "number": "03-1111-2222",
            "label": "注文専用",
        }


def test_operator_reads_the_numbers_but_may_not_change_them(client, world):
    phone_number = _number(world)
    client.force_login(world.operator_tea)
    page = client.get(NUMBERS)
    assert page.status_code == 200
    assert page.context["can_edit"] is False
    assert 'data-testid="phone-number-form"' not in page.content.decode()
    assert client.post(NUMBERS, {"number": "03-9999-0000"}).status_code == 403
    edit = reverse("phone:number_edit", args=["tea", phone_number.pk])
    assert client.get(edit).status_code == 403
    delete = reverse("phone:number_delete", args=["tea", phone_number.pk])
    assert client.post(delete).status_code == 403
    with unscoped("test assertion"):
        assert PhoneNumber.objects.count() == 1


def test_other_shops_are_404_and_clients_403(client, world):
    ceramics_number = _number(world, shop=world.ceramics)
    client.force_login(world.operator_ceramics)
    assert client.get(NUMBERS).status_code == 404
    client.force_login(world.client_tea)
    assert client.get(NUMBERS).status_code == 403
    client.force_login(world.supervisor)
    # A number of another shop, named through this shop's page, is not found.
    edit = reverse("phone:number_edit", args=["tea", ceramics_number.pk])
    assert client.get(edit).status_code == 404
    delete = reverse("phone:number_delete", args=["tea", ceramics_number.pk])
    assert client.post(delete).status_code == 404
    with unscoped("test assertion"):
        assert PhoneNumber.objects.count() == 1


def test_the_call_form_offers_the_shop_numbers_and_records_the_one_used(client, world):
    main = _number(world, number="03-1111-2222", label="代表")
    _number(world, number="0120-000-111", label="注文専用")
    _number(world, number="03-5555-6666", label="旧番号", is_active=False)
    client.force_login(world.operator_tea)
    page = client.get(reverse("phone:call_new", args=["tea"]))
    assert [str(number) for number in page.context["shop_numbers"]] == [
        "代表 03-1111-2222",
        "注文専用 0120-000-111",
    ]
    response = client.post(
        reverse("phone:call_new", args=["tea"]),
        {
            "direction": "inbound",
            "number": "090-1234-5678",
            "result": "answered",
            "duration": "1:05",
            "shop_number": str(main.pk),
        },
    )
    assert response.status_code == 302
    with in_shop(world.tea.id):
        log = CallLog.objects.get()
        assert log.shop_number_id == main.pk
        assert log.ticket.messages.get().body_text == (
            "[着信] 090-1234-5678 結果: 通話 通話時間: 1:05\n着信先: 代表 03-1111-2222"
        )


def test_a_number_of_another_shop_cannot_be_chosen(client, world):
    other = _number(world, shop=world.ceramics)
    client.force_login(world.operator_tea)
    response = client.post(
        reverse("phone:call_new", args=["tea"]),
        {
            "direction": "outbound",
            "number": "090-1234-5678",
            "result": "answered",
            "shop_number": str(other.pk),
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "shop_number": ["ショップの番号から選んでください。"]
    }
    with unscoped("test assertion"):
        assert not CallLog.objects.exists()


def test_the_shops_own_number_is_never_a_caller(client, world):
    _number(world, number="03-1111-2222")
    customer = world.tea_ticket.customer
    with unscoped("test setup"):
        # A customer wrongly recorded with the shop's number is not found by it.
        ContactIdentity.objects.create(
            shop=world.tea,
            customer=customer,
            kind="phone",
            value="0311112222",
            display_value="03-1111-2222",
        )
    with in_shop(world.tea.id):
        assert services.customer_by_number(shop=world.tea, number="03 1111 2222") is None
    client.force_login(world.operator_tea)
    lookup = client.get(reverse("phone:lookup", args=["tea"]), {"number": "0311112222"})
    assert lookup.context["customer"] is None
    assert str(lookup.context["own_number"]) == "代表 03-1111-2222"
    assert 'data-testid="own-number"' in lookup.content.decode()
    response = client.post(
        reverse("phone:call_new", args=["tea"]),
        {"direction": "inbound", "number": "03-1111-2222", "result": "answered"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "number": ["これはショップ自身の番号です。お客様の電話番号を入力してください。"]
    }
    with unscoped("test assertion"):
        assert not CallLog.objects.exists()
        assert Ticket.objects.filter(channel="phone").count() == 0
