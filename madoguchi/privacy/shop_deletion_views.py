"""The page where a shop's admin deletes the whole shop (its data in every app), confirmed by
typing the shop's slug; strangers to the shop get 404, its other users 403."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy, gettext_noop
from django.views.decorators.http import require_http_methods

from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.service_forms import service_errors_on
from madoguchi.privacy.shop_deletion import shop_delete, shop_deletion_verify, shop_remaining
from madoguchi.tenancy.access import Actor, Role, access_shop


class ShopDeletionForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=gettext_lazy("For example: the contract with the shop ended on 2026-12-01."),
    )
    confirmation = forms.CharField(
        label=gettext_lazy("Confirmation"),
        max_length=200,
        help_text=gettext_lazy("Type the shop's slug."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def shop_delete_view(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Show what goes and ask for a reason and the typed slug; then delete and verify."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    if actor.role_for(shop.id) != Role.ADMIN:
        raise PermissionDeniedError(gettext_noop("Only an admin may delete a shop."))
    status = 200
    if request.method == "POST":
        form = ShopDeletionForm(request.POST)
        if form.is_valid():
            with service_errors_on(form):
                deletion = shop_delete(
                    actor=actor,
                    shop=shop,
                    reason=form.cleaned_data["reason"],
                    confirmation=form.cleaned_data["confirmation"],
                )
                deletion = shop_deletion_verify(deletion=deletion)
                rows = sum(deletion.counts.values())
                if deletion.is_verified:
                    messages.success(
                        request,
                        gettext(
                            "The shop %(name)s was deleted: %(rows)s rows and %(files)s files. "
                            "Nothing of it remains."
                        )
                        % {"name": deletion.shop_name, "rows": rows, "files": deletion.file_count},
                    )
                else:
                    messages.error(
                        request, gettext("The shop was deleted, but some of its data remains.")
                    )
                return redirect("/")
        status = 400
    else:
        form = ShopDeletionForm()
    remaining = shop_remaining(shop)
    rows = sum(int(line.rsplit(": ", 1)[1]) for line in remaining)
    return render(
        request,
        "privacy/shop_delete.html",
        {"shop": shop, "form": form, "rows": rows},
        status=status,
    )
