from madoguchi.conversations.services import InboundMessage, message_reply, receive_inbound
from madoguchi.customers.services import IdentityInput
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop


def test_inbound_then_reply(world):
    with in_shop(world.tea.id):
        result = receive_inbound(
            InboundMessage(
                shop_id=world.tea.id,
                channel="email",
                external_id="abc@example.jp",
                body_text="こんにちは",
                subject="注文について",
                identities=[IdentityInput(kind="email", value="Taro@Example.jp")],
                customer_name="山田太郎",
            )
        )
        assert result.is_new_ticket
        again = receive_inbound(
            InboundMessage(
                shop_id=world.tea.id,
                channel="email",
                external_id="abc@example.jp",
                body_text="こんにちは",
                identities=[IdentityInput(kind="email", value="taro@example.jp")],
            )
        )
        assert again.is_duplicate and again.ticket.id == result.ticket.id
        actor = actor_for_user(world.operator_tea)
        assert actor.shop_ids == (world.tea.id,)
        message = message_reply(actor=actor, ticket=result.ticket, body_text="ありがとうございます")
        assert message.ticket.status == "open"
