"""URLs of the people administration pages, and the public accept page of an invitation."""

from django.urls import URLPattern, path

from madoguchi.administration import people_views

urlpatterns: list[URLPattern] = [
    path("people/", people_views.people, name="people"),
    path("people/invite/", people_views.people_invite, name="people_invite"),
    path("people/<int:membership_id>/", people_views.person, name="person"),
    path(
        "people/<int:membership_id>/deactivate/",
        people_views.person_deactivate,
        name="person_deactivate",
    ),
    path(
        "people/<int:membership_id>/reactivate/",
        people_views.person_reactivate,
        name="person_reactivate",
    ),
    path(
        "people/invitations/<int:invitation_id>/resend/",
        people_views.invitation_resend_view,
        name="invitation_resend",
    ),
    path(
        "people/invitations/<int:invitation_id>/revoke/",
        people_views.invitation_revoke_view,
        name="invitation_revoke",
    ),
    path(
        "invitations/<str:token>/",
        people_views.invitation_accept_view,
        name="invitation_accept",
    ),
]
