"""factory_boy factories shared by every app's tests."""

from typing import Any

import factory
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.conversations.models import Channel, Message, Ticket
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.tenancy.models import Engagement, Membership, Shop, ShopAssignment, Workspace


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.jp")
    display_name = factory.Sequence(lambda n: f"利用者{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-1234")

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            obj.save()


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"ワークスペース{n}")
    slug = factory.Sequence(lambda n: f"ws{n}")
    kind = Workspace.Kind.MERCHANT


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"ショップ{n}")
    slug = factory.Sequence(lambda n: f"shop{n}")
    ticket_prefix = factory.Sequence(lambda n: f"S{n}")


class EngagementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Engagement

    agency = factory.SubFactory(WorkspaceFactory, kind=Workspace.Kind.AGENCY)
    shop = factory.SubFactory(ShopFactory)
    mode = Engagement.Mode.OUTSOURCED
    starts_on = factory.LazyFunction(lambda: timezone.localdate().replace(day=1))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Membership.Role.OPERATOR


class ShopAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShopAssignment

    membership = factory.SubFactory(MembershipFactory)
    shop = factory.SubFactory(ShopFactory)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"顧客{n}")


class ContactIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactIdentity

    customer = factory.SubFactory(CustomerFactory)
    shop = factory.SelfAttribute("customer.shop")
    kind = ContactIdentity.Kind.EMAIL
    value = factory.Sequence(lambda n: f"customer{n}@example.com")
    display_value = factory.SelfAttribute("value")


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket with a number taken from its shop's counter (bypasses services: fixtures only)."""

    class Meta:
        model = Ticket

    shop = factory.SubFactory(ShopFactory)
    customer = factory.SubFactory(CustomerFactory, shop=factory.SelfAttribute("..shop"))
    subject = factory.Sequence(lambda n: f"お問い合わせ{n}")
    channel = Channel.EMAIL
    created_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.SelfAttribute("created_at")

    @factory.lazy_attribute
    def number(self) -> int:
        from django.db.models import F

        Shop.objects.filter(pk=self.shop.pk).update(last_ticket_number=F("last_ticket_number") + 1)
        self.shop.refresh_from_db(fields=["last_ticket_number"])
        return int(self.shop.last_ticket_number)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    shop = factory.SelfAttribute("ticket.shop")
    direction = Message.Direction.INBOUND
    channel = factory.SelfAttribute("ticket.channel")
    body_text = "注文した商品がまだ届きません。"
    created_at = factory.LazyFunction(timezone.now)
