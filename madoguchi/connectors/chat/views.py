"""HTTP side of the live chat: the widget's two small cross-origin endpoints and the settings page.

The widget endpoints answer CORS only for the shop's allowed origins; a request whose Origin is
missing or foreign gets 403 (the browser would hide the answer anyway, and nothing is created).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from madoguchi.connectors.chat import services
from madoguchi.connectors.chat.forms import ChatSettingsForm
from madoguchi.connectors.chat.models import ChatWidget
from madoguchi.core.client_address import client_address
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.core.rate_limits import hit
from madoguchi.core.service_forms import service_errors_on
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop

LANGUAGES = ("ja", "en")
MAX_OPEN_BODY_BYTES = 4096


def widget_labels() -> dict[str, str]:
    """The widget's texts, in the active language (Japanese unless the page asks otherwise)."""
    return {
        "launcher": _("Chat with us"),
        "title": _("Chat"),
        "close": _("Close"),
        "online": _("An operator is here to help."),
        "offline": _(
            "No operator is available right now. Leave your e-mail address and a message; "
            "we will get back to you."
        ),
        "email": _("E-mail address"),
        "message": _("Message"),
        "send": _("Send"),
        "sending": _("Sending…"),
        "typing": _("The operator is typing…"),
        "end": _("End chat"),
        "transcript": _("Send me the conversation by e-mail"),
        "ended": _("The chat has ended. Thank you."),
        "email_required": _("Please enter your e-mail address."),
        "rate_limited": _("You are sending messages too quickly. Please wait a moment."),
        "invalid": _("The message could not be sent."),
        "too_long": _("The message is too long. Please shorten it or send it in parts."),
        "shop_archived": _("This shop no longer accepts contacts."),
        "reconnecting": _("Reconnecting…"),
        "you": _("You"),
        "operator": _("Operator"),
        # A visitor message's state, shown under it (docs/adr/0018-chat-cursors.md).
        "state_sending": pgettext("chat message state", "Sending"),
        "state_sent": pgettext("chat message state", "Sent"),
        "state_delivered": pgettext("chat message state", "Delivered"),
        "state_failed": pgettext("chat message state", "Not sent"),
        "resend": pgettext("chat message state", "Resend"),
    }


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    response["Cache-Control"] = "no-store"
    return response


def _widget_and_origin(request: HttpRequest, public_key: str) -> tuple[ChatWidget, str]:
    widget = services.widget_by_key(public_key)
    if widget is None:
        raise NotFoundError("Chat not found")
    origin = str(request.headers.get("Origin", ""))
    return widget, origin


def _refused() -> HttpResponse:
    return JsonResponse({"error": "origin"}, status=403)


def _language(request: HttpRequest) -> str:
    language = request.GET.get("lang", "ja")
    return language if language in LANGUAGES else "ja"


@csrf_exempt
@require_http_methods(["GET", "OPTIONS"])
def widget_config(request: HttpRequest, public_key: str) -> HttpResponse:
    """The widget's texts and whether live chat is on now."""
    widget, origin = _widget_and_origin(request, public_key)
    if not widget.allows_origin(origin):
        return _refused()
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), origin)
    with in_shop(widget.shop_id), translation.override(_language(request)):
        data = {
            "available": services.is_available(widget),
            "shop": widget.shop.name,
            "labels": widget_labels(),
            # The widget refuses a longer message itself: sent, its frame would close the socket.
            "max_message_chars": services.limit("CHAT_MAX_MESSAGE_CHARS"),
        }
    return _cors(JsonResponse(data), origin)


def _too_many_opens(widget: ChatWidget, ip_address: str) -> bool:
    """At most CHAT_OPENS_PER_HOUR new conversations per shop and client address (counted in
    the shared cache, so every process and restart agrees)."""
    count = hit(f"chat:opens:{widget.shop_id}:{ip_address}", window=3600)
    return count > services.limit("CHAT_OPENS_PER_HOUR")


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def conversation_open(request: HttpRequest, public_key: str) -> HttpResponse:
    """Start a conversation; the answer carries its token (the visitor keeps it)."""
    widget, origin = _widget_and_origin(request, public_key)
    if not widget.allows_origin(origin):
        return _refused()
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), origin)
    if _too_many_opens(widget, client_address(request) or ""):
        return _cors(JsonResponse({"error": "rate_limited"}, status=429), origin)
    if request.content_type not in ("application/json", "text/plain"):
        return _cors(JsonResponse({"error": "content_type"}, status=415), origin)
    if len(request.body) > MAX_OPEN_BODY_BYTES:
        return _cors(JsonResponse({"error": "too_large"}, status=413), origin)
    try:
        data: Any = json.loads(request.body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _cors(JsonResponse({"error": "bad_request"}, status=400), origin)
    fields = {key: data.get(key) for key in ("name", "email", "user_id", "user_hash")}
    if not all(value is None or isinstance(value, str) for value in fields.values()):
        return _cors(JsonResponse({"error": "bad_request"}, status=400), origin)
    with in_shop(widget.shop_id):
        try:
            opened = services.conversation_open(
                widget=widget, **{key: value or "" for key, value in fields.items()}
            )
        except ValidationError:
            return _cors(JsonResponse({"error": "email"}, status=400), origin)
        available = services.is_available(widget)
    data = {
        "token": opened.token,
        "available": available,
        "verified": bool(opened.conversation.verified_user_id),
    }
    return _cors(JsonResponse(data, status=201), origin)


def _staff_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Shop not found")
    return actor, shop


@login_required
@require_http_methods(["GET", "POST"])
def settings_edit(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's chat settings: the script tag, allowed sites, hours and identity secret."""
    actor, shop = _staff_shop(request, shop_slug)
    widget = services.widget_for(shop)
    can_edit = actor.is_lead_for(shop.id)
    form: ChatSettingsForm | None = None
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDeniedError(
                gettext_noop("Only a supervisor or admin may change the chat settings.")
            )
        form = ChatSettingsForm(request.POST, instance=ChatWidget.objects.get(pk=widget.pk))
        if form.is_valid():
            with service_errors_on(form):
                services.widget_update(actor=actor, shop=shop, values=form.settings_values())
                messages.success(request, _("The chat settings were saved."))
                return HttpResponseRedirect(reverse("chat:settings", args=[shop.slug]))
        status = 400
    elif can_edit:
        form = ChatSettingsForm(instance=widget)
    script_url = request.build_absolute_uri(static("chat/widget.js"))
    context = {
        "shop": shop,
        "widget": widget,
        "form": form,
        "can_edit": can_edit,
        # The template writes the tag, with knowledge's `data-help-center` when it applies.
        "script_url": script_url,
        "identity_secret": widget.identity_secret if can_edit else "",
    }
    return render(request, "chat/settings.html", context, status=status)
