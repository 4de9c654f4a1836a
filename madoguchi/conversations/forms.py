"""Forms of the operator UI: they parse and validate input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from madoguchi.conversations.models import Category, Channel, Ticket
from madoguchi.conversations.selectors import InboxView

# Messages the services raise (in English); listed here so that makemessages extracts them and
# the UI shows them translated with `core.service_forms.error_text`.
SERVICE_MESSAGES = (
    gettext_noop("The reply is empty."),
    gettext_noop("The note is empty."),
    gettext_noop("The message is too long."),
    gettext_noop("Unknown status."),
    gettext_noop("Unknown priority."),
    gettext_noop("Unknown channel."),
    gettext_noop("Write what the customer asked."),
    gettext_noop("A subject is required."),
    gettext_noop("Choose a customer or enter their name or contact."),
    gettext_noop("The customer belongs to another shop."),
    gettext_noop("The category belongs to another shop."),
    gettext_noop("That person does not work this shop."),
    gettext_noop("You may not reply on this ticket."),
    gettext_noop("Only support staff may do this."),
    gettext_noop("The page link is not valid."),
    gettext_noop("Unknown view."),
    gettext_noop("Choose the ticket to merge into."),
)

VIEW_LABELS = {
    InboxView.MINE: _("My tickets"),
    InboxView.UNASSIGNED: _("Unassigned"),
    InboxView.OPEN: _("All open"),
    InboxView.PENDING: Ticket.Status.PENDING.label,
    InboxView.SOLVED: _("Solved"),
    InboxView.UNDELIVERED: _("Not delivered"),
}


class InboxFilterForm(forms.Form):
    """The inbox query string: saved view, filters and the keyset cursor."""

    view = forms.ChoiceField(label=_("View"), choices=list(VIEW_LABELS.items()), required=False)
    shop = forms.SlugField(label=_("Shop"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Any status")), *Ticket.Status.choices],
        required=False,
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=[("", _("Any priority")), *Ticket.Priority.choices],
        required=False,
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("Any channel")), *Channel.choices], required=False
    )
    cursor = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args: Any, shop_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The shop list holds only shops the actor sees; any other slug 404s in the view.
        self.fields["shop"].widget = forms.Select(choices=[("", _("All shops")), *shop_choices])

    def value(self, name: str) -> str:
        """Return the cleaned value of `name`, or "" where the input was not acceptable."""
        if name in self.errors:
            return ""
        return str(self.cleaned_data.get(name) or "")


# Where a status is chosen, the two kinds of waiting are explained (issue #13).
STATUS_HELP = _(
    "Pending: waiting for the customer's answer; SLA clocks pause. "
    "On hold: waiting on the shop, a colleague or a carrier; SLA clocks keep running."
)

REPLY_STATUS_CHOICES = [
    ("", _("Keep status (new becomes open)")),
    (Ticket.Status.OPEN, _("Submit as open")),
    (Ticket.Status.PENDING, _("Submit as pending")),
    (Ticket.Status.ON_HOLD, _("Submit as on hold")),
    (Ticket.Status.SOLVED, _("Submit as solved")),
]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply to the customer"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=200_000,
        strip=True,
    )
    status = forms.ChoiceField(label=_("Submit as"), choices=REPLY_STATUS_CHOICES, required=False)
    # The reply template the text came from: sending applies its status, tags and category.
    template = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # The newest message on the page when it was rendered: a newer reply by someone else asks
    # for confirmation before this one is sent (conversations.collisions).
    seen_message = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=200_000,
        strip=True,
        help_text=_("Only support staff see notes; the customer and the shop owner never do."),
    )


class TicketPropertiesForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=Ticket.Status.choices, help_text=STATUS_HELP
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Ticket.Priority.choices)
    assignee = forms.TypedChoiceField(
        label=_("Assignee"), coerce=int, empty_value=None, required=False
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=_("(none)"),
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas."),
    )

    def __init__(
        self,
        *args: Any,
        assignee_choices: list[tuple[int, str]],
        categories: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        assignee_field = self.fields["assignee"]
        assert isinstance(assignee_field, forms.TypedChoiceField)
        assignee_field.choices = [("", _("(unassigned)")), *assignee_choices]
        category_field = self.fields["category"]
        assert isinstance(category_field, forms.ModelChoiceField)
        category_field.queryset = categories

    def tag_names(self) -> list[str]:
        raw = str(self.cleaned_data.get("tags") or "")
        # Japanese keyboards type the full-width comma; both separate tags.
        names = raw.replace("、", ",").replace("，", ",").split(",")
        return [name.strip() for name in names if name.strip()]


class TicketNewForm(forms.Form):
    """A ticket written by hand, typically while or after taking a phone call."""

    shop = forms.ChoiceField(label=_("Shop"))
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    customer_name = forms.CharField(label=_("Customer name"), required=False, max_length=200)
    customer_email = forms.EmailField(label=_("Email address"), required=False)
    customer_phone = forms.CharField(label=_("Phone number"), required=False, max_length=40)
    subject = forms.CharField(label=_("Subject"), max_length=255)
    body = forms.CharField(
        label=_("What the customer asked (call notes)"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=200_000,
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Ticket.Priority.choices, initial=Ticket.Priority.NORMAL
    )
    assign_to_self = forms.BooleanField(label=_("Assign to me"), required=False, initial=True)

    def __init__(self, *args: Any, shop_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shop_field = self.fields["shop"]
        assert isinstance(shop_field, forms.ChoiceField)
        shop_field.choices = shop_choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        has_contact = any(
            cleaned.get(name) for name in ("customer_name", "customer_email", "customer_phone")
        )
        if not cleaned.get("customer") and not has_contact and "customer_email" not in self.errors:
            raise forms.ValidationError(
                _("Choose a customer or enter their name or contact."), code="no_customer"
            )
        return cleaned
